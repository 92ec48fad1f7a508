import type { Knex } from 'knex';
import { appendEvent, appendEvents, SYSTEM_ACTOR, type Actor } from '../audit/store.js';
import { COMMENT_MAX_LENGTH, DISABLED_REASON_MAX_LENGTH, MAX_GRACE_PERIOD_SECONDS, NAME_MAX_LENGTH, NAME_MIN_LENGTH } from '../shared/limits.js';
import { KeygateError, notFound, validationFailed, type FieldError } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import { createKeypairsInBulk } from './bulk.js';
import { warnExpiring } from './expiry_warnings.js';
import { replaceGrants } from './grant_store.js';
import { defaultScopes, narrows, resolveGrants, serversFor, type GrantsInput } from './grants.js';
import { actorLabel, notifyAdmins } from './notices.js';
import { checkActiveCap, lockOwner, type KeypairOwner } from './owner_lock.js';
import { deleteExpired } from './retention.js';
import type { CreateKeypairInput, KeylessCredentialInput, KeypairWithSecret, UpdateKeypairInput } from './inputs.js';
import { auditValue, keylessChanges } from './keyless.js';
import { insertNewKeypair } from './create.js';
import { generateSecret, secretHint, type NewSecret } from './secret.js';
import { AUDITED_FIELDS, camelChanges, eventForUpdate } from './update_changes.js';
import type { KeypairServiceDeps } from './deps.js';
import {
  deleteKeypairRow,
  deleteKeypairsOf,
  findKeypair,
  insertSecret,
  listKeypairs,
  reissueStatusIndexes,
  retireSecrets,
  updateKeypairRow,
  type Grant,
  type Keypair,
  type KeypairChanges,
  type KeypairListOptions,
} from './store.js';

export { MAX_GRACE_PERIOD_SECONDS };
export type { GrantInput, GrantsInput } from './grants.js';
export type { CreateKeypairInput, KeylessCredentialInput, KeypairWithSecret, UpdateKeypairInput } from './inputs.js';
export type { KeypairOwner } from './owner_lock.js';
export type { KeypairServiceDeps };

/** Why a keypair with no secret has nothing to rotate, and what to do instead. */
const NOT_ROTATED = {
  public_key: 'a public-key keypair is rotated by PATCH publicKeys: add the new key, remove the old one later',
  federated: "a federated keypair has no secret to rotate: its workload's platform token is its credential (PATCH federation to change what it accepts)",
} as const;

/** The reason an automatic disable records. */
export const AUTO_DISABLE_REASON = 'auto-disabled: sustained failures';

/**
 * Every change to keypairs goes through here: one transaction with its audit event
 * and a change notice, so every process's client cache drops the keypair at commit.
 * Bulk seeding, expiry warnings and retention live in their own files; this class is
 * the one door to them.
 */
export class KeypairService {
  constructor(private readonly deps: KeypairServiceDeps) {}

  listKeypairs(owner: { accountId: string; environmentId: string | null }, options: KeypairListOptions): Promise<Keypair[]> {
    return listKeypairs(this.deps.db, owner, options);
  }

  async getKeypair(clientId: string): Promise<Keypair> {
    const keypair = await findKeypair(this.deps.db, clientId);
    if (!keypair) throw notFound('Keypair');
    return keypair;
  }

  /** A secret keypair: the answer holds its secret, this once. */
  async createKeypair(actor: Actor, input: CreateKeypairInput): Promise<KeypairWithSecret> {
    // A caller that parsed a keyless body must not get a secret keypair by mistake.
    if (input.credential) throw new Error('createKeypair makes secret keypairs: a keyless credential goes to createKeylessKeypair');
    const minted = generateSecret();
    const keypair = await this.insertKeypair(actor, input, minted);
    return { keypair, clientSecret: minted.secret };
  }

  /**
   * A keypair with no secret: its client's public keys (private_key_jwt) or a trusted
   * issuer's tokens (federation). It still gets one unusable secret row, whose
   * status-list index its tokens carry so that a disable revokes them.
   */
  createKeylessKeypair(actor: Actor, input: CreateKeypairInput & { credential: KeylessCredentialInput }): Promise<Keypair> {
    return this.insertKeypair(actor, input, undefined);
  }

  private async insertKeypair(actor: Actor, input: CreateKeypairInput, minted: NewSecret | undefined): Promise<Keypair> {
    const now = this.deps.clock.now();
    const errors = [
      ...this.checkName(input.name),
      ...this.checkComment(input.comment),
      ...(input.expiresAt && input.expiresAt.getTime() <= now.getTime() ? [{ field: 'expiresAt', message: 'must be in the future' }] : []),
    ];
    return this.getKeypair(await insertNewKeypair(this.deps, actor, input, minted, errors, now));
  }

  /**
   * Creates `count` keypairs for one owner in batches (bulk.ts): same rows, secrets and
   * audit events as createKeypair; the active-keypair cap applies to the whole batch.
   */
  createKeypairs(actor: Actor, owner: KeypairOwner, count: number, input: { namePrefix: string; scopes: readonly string[] }): Promise<Array<{ clientId: string; clientSecret: string }>> {
    return createKeypairsInBulk(this.deps, actor, owner, count, input);
  }

  /**
   * Issues a new secret. The previous one keeps working for `gracePeriodSeconds`
   * (0: it dies now); any secret older than the previous one dies now either way.
   */
  async rotateSecret(actor: Actor, clientId: string, gracePeriodSeconds: number): Promise<KeypairWithSecret> {
    if (!Number.isInteger(gracePeriodSeconds) || gracePeriodSeconds < 0 || gracePeriodSeconds > MAX_GRACE_PERIOD_SECONDS) {
      throw validationFailed([{ field: 'gracePeriodSeconds', message: `must be a whole number from 0 to ${MAX_GRACE_PERIOD_SECONDS}` }]);
    }
    const now = this.deps.clock.now();
    const minted = generateSecret();
    const previousExpiresAt = new Date(now.getTime() + gracePeriodSeconds * 1000);
    await this.deps.db.transaction(async (trx) => {
      const keypair = await this.lockKeypair(trx, clientId);
      if (keypair.credentialType !== 'secret') throw new KeygateError('conflict', NOT_ROTATED[keypair.credentialType]);
      await retireSecrets(trx, clientId, previousExpiresAt, now);
      await insertSecret(trx, { id: newId('secret'), client_id: clientId, secret_sha256: minted.sha256, last4: minted.last4, created_at: now });
      await updateKeypairRow(trx, clientId, {}, now);
      await appendEvent(trx, actor, {
        action: 'keypair.rotated',
        targetType: 'keypair',
        targetId: clientId,
        accountId: keypair.accountId,
        environmentId: keypair.environmentId,
        after: { gracePeriodSeconds, previousSecretExpiresAt: previousExpiresAt.toISOString() },
      }, now);
      await notifyAdmins(trx, 'keypair.rotated', keypair, actor, now, { secretHint: secretHint(minted.last4), gracePeriodSeconds });
      await this.deps.changes.publish(trx, [clientId]);
    });
    return { keypair: await this.getKeypair(clientId), clientSecret: minted.secret };
  }

  /**
   * Name, comment, scopes and enabled in one change. `expectedVersion` (If-Match)
   * refuses the change when someone else changed the keypair first.
   */
  async updateKeypair(actor: Actor, clientId: string, input: UpdateKeypairInput, expectedVersion?: number): Promise<Keypair> {
    const errors = [
      ...(input.name === undefined ? [] : this.checkName(input.name)),
      ...this.checkComment(input.comment),
      ...(input.disabledReason !== undefined && input.disabledReason.length > DISABLED_REASON_MAX_LENGTH ? [{ field: 'disabledReason', message: `must be at most ${DISABLED_REASON_MAX_LENGTH} characters` }] : []),
    ];

    const now = this.deps.clock.now();
    await this.deps.db.transaction(async (trx) => {
      // The resource servers first, as their changes lock them before the keypairs they narrow.
      const servers = await serversFor(trx, input);
      // An enable takes its owner's lock before the keypair's, in the order closing an
      // environment or account takes them (owner, then its keypairs): the other order
      // deadlocks against a close running at the same moment.
      if (input.enabled === true) {
        const owner = await findKeypair(trx, clientId);
        if (owner) await lockOwner(trx, owner);
      }
      const before = await this.lockKeypair(trx, clientId);
      const resolved = resolveGrants(before.accountId, input, before.grants, servers);
      const keyless = await keylessChanges(before, input, now);
      if (errors.length + resolved.errors.length + keyless.errors.length > 0) throw validationFailed([...errors, ...resolved.errors, ...keyless.errors]);
      if (expectedVersion !== undefined && before.version !== expectedVersion) {
        throw new KeygateError('precondition_failed', `The keypair is at version ${before.version}, not ${expectedVersion}; fetch it again.`);
      }
      const changes: KeypairChanges = { ...keyless.changes };
      if (input.name !== undefined) changes.name = input.name;
      if (input.comment !== undefined) changes.comment = input.comment;
      if (input.rateLimitPerMinute !== undefined) changes.rate_limit_per_minute = input.rateLimitPerMinute;
      if (input.allowedIps !== undefined) changes.allowed_ips = [...input.allowedIps];
      if (input.autoDisable !== undefined) changes.auto_disable = input.autoDisable;
      if (input.enabled === false && before.enabled) {
        Object.assign(changes, { enabled: false, disabled_at: now, disabled_by: actorLabel(actor), disabled_reason: input.disabledReason ?? null });
      } else if (input.enabled === true && !before.enabled) {
        // The owner's lock (taken above, as a create takes it): two enables, or an enable and a create, count one after the other.
        await checkActiveCap(trx, before, now, this.deps.maxActiveKeypairs);
        Object.assign(changes, { enabled: true, disabled_at: null, disabled_by: null, disabled_reason: null });
      }
      const grants = resolved.grants;
      const after: Keypair = { ...before, ...camelChanges(changes), ...keyless.after, ...(grants && { grants, scopes: this.defaultScopes(grants) }) };
      const changed = AUDITED_FIELDS.filter((field) => JSON.stringify(before[field]) !== JSON.stringify(after[field]));
      // Nothing really changes: no write, no version bump, no audit event.
      if (changed.length === 0) return;

      await updateKeypairRow(trx, clientId, changes, now);
      if (grants && changed.includes('grants')) {
        await replaceGrants(trx, [clientId], grants);
        // Tokens already issued may carry a scope taken away here: a fresh status index revokes them all.
        if (narrows(before.grants, grants)) await reissueStatusIndexes(trx, [clientId], now);
      }
      await appendEvent(trx, actor, {
        action: eventForUpdate(changes),
        targetType: 'keypair',
        targetId: clientId,
        accountId: before.accountId,
        environmentId: before.environmentId,
        before: Object.fromEntries(changed.map((field) => [field, auditValue(before, field)])),
        after: Object.fromEntries(changed.map((field) => [field, auditValue(after, field)])),
      }, now);
      if (changes.enabled === false) await notifyAdmins(trx, 'keypair.disabled', before, actor, now, { reason: input.disabledReason ?? null });
      await this.deps.changes.publish(trx, [clientId]);
    });
    return this.getKeypair(clientId);
  }

  disableKeypair(actor: Actor, clientId: string, reason?: string): Promise<Keypair> {
    return this.updateKeypair(actor, clientId, { enabled: false, disabledReason: reason });
  }

  enableKeypair(actor: Actor, clientId: string): Promise<Keypair> {
    return this.updateKeypair(actor, clientId, { enabled: true });
  }

  /** Keygate's own disable of a misused keypair (auto-disable), audited with actor `system`. */
  disableAutomatically(clientId: string): Promise<Keypair> {
    return this.updateKeypair(SYSTEM_ACTOR, clientId, { enabled: false, disabledReason: AUTO_DISABLE_REASON });
  }

  /**
   * Removes the keypair and its secrets for good; the audit trail keeps its history.
   * `reason` is recorded with the event (cleanup gives one).
   */
  async deleteKeypair(actor: Actor, clientId: string, reason?: string): Promise<void> {
    const now = this.deps.clock.now();
    await this.deps.db.transaction(async (trx) => {
      const keypair = await this.lockKeypair(trx, clientId);
      await deleteKeypairRow(trx, clientId);
      await appendEvent(trx, actor, {
        action: 'keypair.deleted',
        targetType: 'keypair',
        targetId: clientId,
        accountId: keypair.accountId,
        environmentId: keypair.environmentId,
        before: { name: keypair.name, comment: keypair.comment, scopes: keypair.scopes, enabled: keypair.enabled, expiresAt: keypair.expiresAt?.toISOString() ?? null },
        ...(reason !== undefined && { after: { reason } }),
      }, now);
      await notifyAdmins(trx, 'keypair.deleted', keypair, actor, now, { reason: reason ?? null });
      await this.deps.changes.publish(trx, [clientId]);
    });
  }

  /**
   * Keys cease to exist with their owner: deletes every keypair of a closing account or
   * environment in the close's transaction (which holds the owner's lock), each deletion
   * audited; returns their client_ids for the change notice.
   */
  async deleteWithOwner(trx: Knex.Transaction, actor: Actor, owner: { accountId: string } | { environmentId: string }, now: Date): Promise<string[]> {
    const deleted = await deleteKeypairsOf(trx, owner);
    await appendEvents(
      trx,
      actor,
      deleted.map((keypair) => ({
        action: 'keypair.deleted',
        targetType: 'keypair',
        targetId: keypair.clientId,
        accountId: keypair.accountId,
        environmentId: keypair.environmentId,
        before: { name: keypair.name },
        after: { reason: 'owner closed' },
      })),
      now,
    );
    return deleted.map((keypair) => keypair.clientId);
  }

  /** Queues expiry warnings for keypairs expiring within `days` (expiry_warnings.ts); returns how many. */
  warnExpiring(days: number): Promise<number> {
    return warnExpiring(this.deps, days);
  }

  /** Deletes keypairs that expired more than `retentionDays` ago, each audited (retention.ts); returns how many. */
  deleteExpired(retentionDays: number): Promise<number> {
    return deleteExpired(this.deps, retentionDays, (clientId, reason) => this.deleteKeypair(SYSTEM_ACTOR, clientId, reason));
  }

  /** The checks that need the catalogue, for the edge to report together with its own. */
  checkGrants(accountId: string, input: GrantsInput): FieldError[] {
    return resolveGrants(accountId, input, [], this.deps.catalog.all()).errors;
  }

  private async lockKeypair(trx: Knex.Transaction, clientId: string): Promise<Keypair> {
    const keypair = await findKeypair(trx, clientId, { forUpdate: true });
    if (!keypair) throw notFound('Keypair');
    return keypair;
  }

  private checkName(name: string): FieldError[] {
    return name.trim().length >= NAME_MIN_LENGTH && name.length <= NAME_MAX_LENGTH ? [] : [{ field: 'name', message: `must be ${NAME_MIN_LENGTH} to ${NAME_MAX_LENGTH} characters` }];
  }

  private checkComment(comment: string | undefined): FieldError[] {
    return comment === undefined || comment.length <= COMMENT_MAX_LENGTH ? [] : [{ field: 'comment', message: `must be at most ${COMMENT_MAX_LENGTH} characters` }];
  }

  /** The shorthand: the scopes granted at the default resource server. */
  private defaultScopes(grants: readonly Grant[]): readonly string[] {
    return defaultScopes(grants, this.deps.catalog.defaultServer?.id);
  }
}
