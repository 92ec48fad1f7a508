import type { Knex } from 'knex';
import { KeygateError } from '../shared/errors.js';
import type { Clock } from '../shared/clock.js';
import type { Logger } from '../shared/log.js';
import { failureCounts, type UsageRecord } from './store.js';

export interface AutoDisablePolicy {
  readonly windowSeconds: number;
  readonly minFailures: number;
  readonly failureRatio: number;
  /** For keypairs whose autoDisable is null. */
  readonly enabledByDefault: boolean;
}

/**
 * What auto-disable needs of the keypairs module, declared here so that usage does
 * not import keypairs (which imports usage). KeypairService satisfies it.
 */
export interface AutoDisableKeypairs {
  /** Throws a KeygateError `not_found` when the keypair no longer exists; any other error is a failure to read it. */
  getKeypair(clientId: string): Promise<{ readonly enabled: boolean; readonly autoDisable: boolean | null }>;
  disableAutomatically(clientId: string): Promise<unknown>;
}

/**
 * Disables a keypair that is clearly misused: within the window, at least
 * `minFailures` refused requests that are at least `failureRatio` of its requests.
 *
 * Only requests that presented a live secret of the keypair count, on both sides of
 * the ratio: the right secret from a foreign network, a flood of bad scopes. Wrong-secret
 * guesses never count, so strangers cannot disable a keypair; nor does a secret that a
 * rotation retired: whoever still sends it (an old deployment, or someone who found it)
 * must not lock the new secret out; its admins are told instead (retired_secret.ts).
 * While the holder keeps getting tokens the ratio stays low. Rate-limited requests count
 * on neither side: the rate limit is already the answer to too many requests.
 *
 * It runs after each usage batch is written, reading the log, so requests served by
 * every process count. A keypair whose check failed (the database did not answer) is
 * checked again with the next batch, whether or not that batch names it.
 */
export class AutoDisable {
  /** Keypairs whose last check failed. */
  readonly #retry = new Set<string>();

  constructor(
    private readonly deps: { readonly db: Knex; readonly keypairs: AutoDisableKeypairs; readonly policy: AutoDisablePolicy; readonly clock: Clock; readonly log: Logger },
  ) {}

  async check(records: readonly UsageRecord[]): Promise<void> {
    const suspects = new Set(this.#retry);
    for (const record of records) {
      if (record.outcome === 'refused' && record.credentialed && record.reason !== 'rate_limited' && record.reason !== 'secret_retired') suspects.add(record.clientId);
    }
    this.#retry.clear();
    for (const clientId of suspects) {
      try {
        await this.#checkKeypair(clientId);
      } catch (error) {
        this.#retry.add(clientId);
        this.deps.log.error('auto-disable check failed; will retry with the next usage batch', { clientId, error: (error as Error).message });
      }
    }
  }

  async #checkKeypair(clientId: string): Promise<void> {
    const { policy } = this.deps;
    const keypair = await this.deps.keypairs.getKeypair(clientId).catch((error: unknown) => {
      // Deleted since the request: nothing to disable. Anything else is not an answer.
      if (error instanceof KeygateError && error.code === 'not_found') return undefined;
      throw error;
    });
    if (!keypair?.enabled || !(keypair.autoDisable ?? policy.enabledByDefault)) return;
    const since = new Date(this.deps.clock.now().getTime() - policy.windowSeconds * 1000);
    const counts = await failureCounts(this.deps.db, clientId, since);
    if (counts.credentialedFailures < policy.minFailures || counts.credentialedFailures < policy.failureRatio * counts.credentialedRequests) return;
    await this.deps.keypairs.disableAutomatically(clientId);
    this.deps.log.warn('keypair disabled automatically: sustained failures', { clientId, failures: counts.credentialedFailures, requests: counts.credentialedRequests });
  }
}
