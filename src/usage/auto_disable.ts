import type { Knex } from 'knex';
import type { KeypairService } from '../keypairs/service.js';
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
 * every process count.
 */
export class AutoDisable {
  constructor(
    private readonly deps: { readonly db: Knex; readonly keypairs: KeypairService; readonly policy: AutoDisablePolicy; readonly clock: Clock; readonly log: Logger },
  ) {}

  async check(records: readonly UsageRecord[]): Promise<void> {
    const suspects = new Set(records.filter((record) => record.outcome === 'refused' && record.credentialed && record.reason !== 'rate_limited' && record.reason !== 'secret_retired').map((record) => record.clientId));
    const { policy } = this.deps;
    for (const clientId of suspects) {
      const keypair = await this.deps.keypairs.getKeypair(clientId).catch(() => undefined);
      if (!keypair?.enabled || !(keypair.autoDisable ?? policy.enabledByDefault)) continue;
      const since = new Date(this.deps.clock.now().getTime() - policy.windowSeconds * 1000);
      const counts = await failureCounts(this.deps.db, clientId, since);
      if (counts.credentialedFailures < policy.minFailures || counts.credentialedFailures < policy.failureRatio * counts.credentialedRequests) continue;
      await this.deps.keypairs.disableAutomatically(clientId);
      this.deps.log.warn('keypair disabled automatically: sustained failures', { clientId, failures: counts.credentialedFailures, requests: counts.credentialedRequests });
    }
  }
}
