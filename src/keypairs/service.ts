import type { Knex } from 'knex';
import { appendEvent, appendEvents, SYSTEM_ACTOR, type Actor } from '../audit/store.js';
import { COMMENT_MAX_LENGTH, DISABLED_REASON_MAX_LENGTH, MAX_GRACE_PERIOD_SECONDS, NAME_MAX_LENGTH, NAME_MIN_LENGTH } from '../contract/limits.js';
import { enqueueNotifications, type NotificationEvent, type NotificationPayload } from '../notifications/store.js';
import type { ChangeFeed } from '../db/notify.js';
import type { ResourceServerCatalog } from '../resource_servers/catalog.js';
import { isAvailableTo, lockResourceServers, type ResourceServer } from '../resource_servers/store.js';
import type { Clock } from '../shared/clock.js';
import { KeygateError, notFound, validationFailed, type FieldError } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import { reissueStatusIndexes } from '../status/status_list.js';
import { generateSecret, secretHint } from './secret.js';
import {
  countActiveKeypairs,
  deleteKeypairRow,
  findKeypair,
  insertKeypair,
  insertSecret,
  listKeypairs,
  replaceGrants,
  retireSecrets,
  updateKeypairRow,
  type Grant,
  type Keypair,
  type KeypairChanges,
  type KeypairListOptions,
} from './store.js';

/** Longest grace period a rotation may give the previous secret: 7 days, in seconds. */
export { MAX_GRACE_PERIOD_SECONDS };

export type KeypairOwner = { readonly accountId: string; readonly environmentId?: undefined } | { readonly environmentId: string; readonly accountId?: undefined };

/** A grant as admins name it: the resource server by its identifier. */
export interface GrantInput {
  readonly resourceServer: string;
  readonly scopes: readonly string[];
}

/**
 * What a keypair may ask for: `grants`, and `scopes` as the shorthand for the grant
 * at the default resource server. Both may be given when `grants` does not name
 * the default resource server.
 */
export interface GrantsInput {
  readonly scopes?: readonly string[] | undefined;
  readonly grants?: readonly GrantInput[] | undefined;
}

export interface CreateKeypairInput extends GrantsInput {
  readonly owner: KeypairOwner;
  readonly name: string;
  readonly comment?: string | undefined;
  /** null or absent: never expires. */
  readonly expiresAt?: Date | null | undefined;
  /** null or absent: the server default (RATE_LIMIT_PER_MINUTE). */
  readonly rateLimitPerMinute?: number | null | undefined;
  /** Canonical entries (ip_allowlist.ts); empty or absent: anywhere. */
  readonly allowedIps?: readonly string[] | undefined;
  /** null or absent: the server default (AUTO_DISABLE_DEFAULT). */
  readonly autoDisable?: boolean | null | undefined;
}

/**
 * `grants` replaces every grant; `scopes` alone replaces only the grant at the
 * default resource server.
 */
export interface UpdateKeypairInput extends GrantsInput {
  readonly name?: string | undefined;
  readonly comment?: string | undefined;
  readonly rateLimitPerMinute?: number | null | undefined;
  readonly allowedIps?: readonly string[] | undefined;
  readonly autoDisable?: boolean | null | undefined;
  readonly enabled?: boolean | undefined;
  /** Kept with a disable; ignored otherwise. */
  readonly disabledReason?: string | undefined;
}

/** A keypair with the secret that was just minted: the only time Keygate returns it. */
export interface KeypairWithSecret {
  readonly keypair: Keypair;
  readonly clientSecret: string;
}

export interface KeypairServiceDeps {
  readonly db: Knex;
  readonly changes: ChangeFeed;
  readonly catalog: ResourceServerCatalog;
  readonly clock: Clock;
  /** Enabled keypairs one owner may hold (MAX_ACTIVE_KEYPAIRS). */
  readonly maxActiveKeypairs: number;
}

/** The fields an update audit event records, before and after. */
const AUDITED_FIELDS = ['name', 'comment', 'scopes', 'grants', 'rateLimitPerMinute', 'allowedIps', 'autoDisable', 'enabled', 'disabledReason'] as const;

/** The reason an automatic disable records. */
export const AUTO_DISABLE_REASON = 'auto-disabled: sustained failures';

/**
 * Every change to keypairs goes through here: one transaction with its audit event
 * and a change notice, so every process's client cache drops the keypair at commit.
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

  async createKeypair(actor: Actor, input: CreateKeypairInput): Promise<KeypairWithSecret> {
    const now = this.deps.clock.now();
    const errors = [
      ...this.checkName(input.name),
      ...this.checkComment(input.comment),
      ...(input.expiresAt && input.expiresAt.getTime() <= now.getTime() ? [{ field: 'expiresAt', message: 'must be in the future' }] : []),
    ];

    const clientId = newId('keypair');
    const minted = generateSecret();
    let grants: Grant[] = [];
    await this.deps.db.transaction(async (trx) => {
      const owner = await this.resolveOwner(trx, input.owner);
      const resolved = this.resolveGrants(owner.accountId, input, [], await this.serversFor(trx, input));
      if (errors.length + resolved.errors.length > 0) throw validationFailed([...errors, ...resolved.errors]);
      grants = resolved.grants ?? [];
      await this.checkActiveCap(trx, owner, now);
      await insertKeypair(trx, {
        client_id: clientId,
        account_id: owner.accountId,
        environment_id: owner.environmentId,
        name: input.name,
        comment: input.comment ?? '',
        expires_at: input.expiresAt ?? null,
        rate_limit_per_minute: input.rateLimitPerMinute ?? null,
        allowed_ips: [...(input.allowedIps ?? [])],
        auto_disable: input.autoDisable ?? null,
        created_by: actorLabel(actor),
        created_at: now,
        updated_at: now,
      });
      await replaceGrants(trx, [clientId], grants);
      await insertSecret(trx, { id: newId('secret'), client_id: clientId, secret_sha256: minted.sha256, last4: minted.last4, created_at: now });
      await appendEvent(trx, actor, {
        action: 'keypair.created',
        targetType: 'keypair',
        targetId: clientId,
        accountId: owner.accountId,
        environmentId: owner.environmentId,
        after: {
          name: input.name,
          comment: input.comment ?? '',
          scopes: this.defaultScopes(grants),
          grants,
          expiresAt: input.expiresAt?.toISOString() ?? null,
          rateLimitPerMinute: input.rateLimitPerMinute ?? null,
          allowedIps: input.allowedIps ?? [],
          autoDisable: input.autoDisable ?? null,
        },
      }, now);
      const keypair = { clientId, name: input.name, ...owner };
      await notify(trx, 'keypair.created', keypair, actor, now, { scopes: this.defaultScopes(grants), secretHint: secretHint(minted.last4), expiresAt: input.expiresAt?.toISOString() ?? null });
    });
    return { keypair: await this.getKeypair(clientId), clientSecret: minted.secret };
  }

  /**
   * Creates `count` keypairs for one owner in batches: for seeding a benchmark or
   * importing many machine clients at once. Same rows, secrets and audit events as
   * createKeypair; the active-keypair cap applies to the whole batch.
   */
  async createKeypairs(actor: Actor, owner: KeypairOwner, count: number, input: { namePrefix: string; scopes: readonly string[] }): Promise<Array<{ clientId: string; clientSecret: string }>> {
    const now = this.deps.clock.now();
    const created: Array<{ clientId: string; clientSecret: string }> = [];
    await this.deps.db.transaction(async (trx) => {
      const resolved = await this.resolveOwner(trx, owner);
      const granted = this.resolveGrants(resolved.accountId, { scopes: input.scopes }, [], await this.serversFor(trx, { scopes: input.scopes }));
      if (granted.errors.length > 0) throw validationFailed(granted.errors);
      const grants = granted.grants ?? [];
      const active = await countActiveKeypairs(trx, resolved, now);
      if (active + count > this.deps.maxActiveKeypairs) {
        throw new KeygateError('limit_reached', `${count} more keypairs would pass the cap of ${this.deps.maxActiveKeypairs} active keypairs.`);
      }
      const BATCH = 1000;
      for (let start = 0; start < count; start += BATCH) {
        const keypairs = [];
        const secrets = [];
        const events = [];
        for (let i = start; i < Math.min(count, start + BATCH); i += 1) {
          const clientId = newId('keypair');
          const minted = generateSecret();
          const name = `${input.namePrefix}${i}`;
          keypairs.push({ client_id: clientId, account_id: resolved.accountId, environment_id: resolved.environmentId, name, comment: '', expires_at: null, created_by: actorLabel(actor), created_at: now, updated_at: now });
          secrets.push({ id: newId('secret'), client_id: clientId, secret_sha256: minted.sha256, last4: minted.last4, created_at: now });
          events.push({ clientId, name });
          created.push({ clientId, clientSecret: minted.secret });
        }
        await trx('keypairs').insert(keypairs);
        await replaceGrants(trx, keypairs.map((keypair) => keypair.client_id), grants);
        await insertSecret(trx, secrets);
        await appendEvents(
          trx,
          actor,
          events.map((event) => ({ action: 'keypair.created', targetType: 'keypair', targetId: event.clientId, accountId: resolved.accountId, environmentId: resolved.environmentId, after: { name: event.name, scopes: this.defaultScopes(grants), grants, bulk: true } })),
          now,
        );
      }
    });
    return created;
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
      await notify(trx, 'keypair.rotated', keypair, actor, now, { secretHint: secretHint(minted.last4), gracePeriodSeconds });
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
      const servers = await this.serversFor(trx, input);
      // An enable takes its owner's lock before the keypair's, in the order closing an
      // environment or account takes them (owner, then its keypairs): the other order
      // deadlocks against a close running at the same moment.
      if (input.enabled === true) {
        const owner = await findKeypair(trx, clientId);
        if (owner) await this.lockOwner(trx, owner);
      }
      const before = await this.lockKeypair(trx, clientId);
      const resolved = this.resolveGrants(before.accountId, input, before.grants, servers);
      if (errors.length + resolved.errors.length > 0) throw validationFailed([...errors, ...resolved.errors]);
      if (expectedVersion !== undefined && before.version !== expectedVersion) {
        throw new KeygateError('precondition_failed', `The keypair is at version ${before.version}, not ${expectedVersion}; fetch it again.`);
      }
      const changes: KeypairChanges = {};
      if (input.name !== undefined) changes.name = input.name;
      if (input.comment !== undefined) changes.comment = input.comment;
      if (input.rateLimitPerMinute !== undefined) changes.rate_limit_per_minute = input.rateLimitPerMinute;
      if (input.allowedIps !== undefined) changes.allowed_ips = [...input.allowedIps];
      if (input.autoDisable !== undefined) changes.auto_disable = input.autoDisable;
      if (input.enabled === false && before.enabled) {
        Object.assign(changes, { enabled: false, disabled_at: now, disabled_by: actorLabel(actor), disabled_reason: input.disabledReason ?? null });
      } else if (input.enabled === true && !before.enabled) {
        // The owner's lock (taken above, as a create takes it): two enables, or an enable and a create, count one after the other.
        await this.checkActiveCap(trx, before, now);
        Object.assign(changes, { enabled: true, disabled_at: null, disabled_by: null, disabled_reason: null });
      }
      const grants = resolved.grants;
      const after = { ...before, ...camelChanges(changes), ...(grants && { grants, scopes: this.defaultScopes(grants) }) };
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
        before: Object.fromEntries(changed.map((field) => [field, before[field]])),
        after: Object.fromEntries(changed.map((field) => [field, after[field]])),
      }, now);
      if (changes.enabled === false) await notify(trx, 'keypair.disabled', before, actor, now, { reason: input.disabledReason ?? null });
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
      await notify(trx, 'keypair.deleted', keypair, actor, now, { reason: reason ?? null });
      await this.deps.changes.publish(trx, [clientId]);
    });
  }

  /**
   * Queues an expiry warning for every enabled keypair that expires within `days`
   * and has not been warned. The UPDATE marks them in the same statement that picks
   * them, so with several processes each keypair is warned once.
   */
  async warnExpiring(days: number): Promise<number> {
    const now = this.deps.clock.now();
    return this.deps.db.transaction(async (trx) => {
      const expiring = await trx('keypairs')
        .where('enabled', true)
        .whereNull('expiry_warned_at')
        .where('expires_at', '>', now)
        .where('expires_at', '<=', new Date(now.getTime() + days * 86_400_000))
        .update({ expiry_warned_at: now })
        .returning<Array<{ client_id: string; name: string; account_id: string; environment_id: string | null; expires_at: Date }>>(['client_id', 'name', 'account_id', 'environment_id', 'expires_at']);
      for (const keypair of expiring) {
        await notify(trx, 'keypair.expiring', { clientId: keypair.client_id, name: keypair.name, accountId: keypair.account_id, environmentId: keypair.environment_id }, SYSTEM_ACTOR, now, { expiresAt: keypair.expires_at.toISOString() });
      }
      return expiring.length;
    });
  }

  /** Deletes keypairs that expired more than `retentionDays` ago, each audited; returns how many. */
  async deleteExpired(retentionDays: number): Promise<number> {
    const cutoff = new Date(this.deps.clock.now().getTime() - retentionDays * 86_400_000);
    const expired = await this.deps.db('keypairs').where('expires_at', '<', cutoff).orderBy('expires_at').pluck<string[]>('client_id');
    let deleted = 0;
    for (const clientId of expired) {
      try {
        await this.deleteKeypair(SYSTEM_ACTOR, clientId, `expired more than ${retentionDays} days ago`);
        deleted += 1;
      } catch (error) {
        // Another process's cleanup (or an admin) got there first.
        if (!(error instanceof KeygateError && error.code === 'not_found')) throw error;
      }
    }
    return deleted;
  }

  private async lockKeypair(trx: Knex.Transaction, clientId: string): Promise<Keypair> {
    const keypair = await findKeypair(trx, clientId, { forUpdate: true });
    if (!keypair) throw notFound('Keypair');
    return keypair;
  }

  /**
   * Locks the row of the keypair's owner (its environment, or its account) for the
   * transaction: every path that raises the owner's active count holds it while it
   * counts, so two of them cannot both pass the cap. resolveOwner takes the same lock.
   */
  private async lockOwner(trx: Knex.Transaction, owner: { accountId: string; environmentId: string | null }): Promise<void> {
    if (owner.environmentId !== null) await trx('environments').where({ id: owner.environmentId }).forUpdate().first('id');
    else await trx('accounts').where({ id: owner.accountId }).forUpdate().first('id');
  }

  /** Refuses a keypair that would take its owner past MAX_ACTIVE_KEYPAIRS. The caller holds the owner's lock (lockOwner, resolveOwner), so two raises cannot both pass. */
  private async checkActiveCap(trx: Knex.Transaction, owner: { accountId: string; environmentId: string | null }, now: Date): Promise<void> {
    const active = await countActiveKeypairs(trx, owner, now);
    if (active >= this.deps.maxActiveKeypairs) {
      const where = owner.environmentId === null ? 'this account' : 'this environment';
      throw new KeygateError('limit_reached', `${where} already has ${active} active keypairs, the most allowed (${this.deps.maxActiveKeypairs}); disable or delete one first.`);
    }
  }

  private async resolveOwner(trx: Knex.Transaction, owner: KeypairOwner): Promise<{ accountId: string; environmentId: string | null }> {
    if (owner.environmentId !== undefined) {
      const environment = await trx('environments')
        .join('accounts', 'accounts.id', 'environments.account_id')
        .where({ 'environments.id': owner.environmentId, 'environments.status': 'active', 'accounts.status': 'active' })
        .forUpdate()
        .first<{ account_id: string } | undefined>('environments.account_id');
      if (!environment) throw notFound('Environment');
      return { accountId: environment.account_id, environmentId: owner.environmentId };
    }
    const account = await trx('accounts').where({ id: owner.accountId, status: 'active' }).forUpdate().first<{ id: string } | undefined>('id');
    if (!account) throw notFound('Account');
    return { accountId: account.id, environmentId: null };
  }

  private checkName(name: string): FieldError[] {
    return name.trim().length >= NAME_MIN_LENGTH && name.length <= NAME_MAX_LENGTH ? [] : [{ field: 'name', message: `must be ${NAME_MIN_LENGTH} to ${NAME_MAX_LENGTH} characters` }];
  }

  private checkComment(comment: string | undefined): FieldError[] {
    return comment === undefined || comment.length <= COMMENT_MAX_LENGTH ? [] : [{ field: 'comment', message: `must be at most ${COMMENT_MAX_LENGTH} characters` }];
  }

  /** The shorthand: the scopes granted at the default resource server. */
  private defaultScopes(grants: readonly Grant[]): readonly string[] {
    return grants.find((grant) => grant.resourceServerId === this.deps.catalog.defaultServer?.id)?.scopes ?? [];
  }

  /** The checks that need the catalogue, for the edge to report together with its own. */
  checkGrants(accountId: string, input: GrantsInput): FieldError[] {
    return this.resolveGrants(accountId, input, [], this.deps.catalog.all()).errors;
  }

  /**
   * The resource servers `input` names and the default one, read in the write's
   * transaction and locked against a concurrent change (which waits, then sees the
   * grants written): a stale in-memory catalogue cannot let a grant through.
   */
  private async serversFor(trx: Knex.Transaction, input: GrantsInput): Promise<ResourceServer[]> {
    if (input.scopes === undefined && input.grants === undefined) return [];
    return lockResourceServers(trx, (input.grants ?? []).map((grant) => grant.resourceServer));
  }

  /**
   * The grants `input` asks for, checked against `servers` (those it names and the
   * default one) and what is available to the account, in identifier order; undefined
   * when it changes none. `current`: the grants kept when only the shorthand `scopes` is given.
   */
  private resolveGrants(accountId: string, input: GrantsInput, current: readonly Grant[], servers: readonly ResourceServer[]): { grants: Grant[] | undefined; errors: FieldError[] } {
    if (input.scopes === undefined && input.grants === undefined) return { grants: undefined, errors: [] };
    const errors: FieldError[] = [];
    const grants = new Map<string, Grant>();
    const byIdentifier = new Map(servers.map((server) => [server.identifier, server]));
    const defaultServer = servers.find((server) => server.isDefault);
    if (input.grants === undefined) {
      for (const grant of current) if (grant.resourceServerId !== defaultServer?.id) grants.set(grant.resourceServerId, grant);
    }
    for (const [index, grant] of (input.grants ?? []).entries()) {
      const server = byIdentifier.get(grant.resourceServer);
      // A server hidden from the account reads exactly like one that does not exist.
      if (!server || !isAvailableTo(server, accountId)) {
        errors.push({ field: `grants[${index}].resourceServer`, message: 'is not a resource server available to this account' });
        continue;
      }
      if (grants.has(server.id)) {
        errors.push({ field: `grants[${index}].resourceServer`, message: 'is named by an earlier grant' });
        continue;
      }
      if (grant.scopes.length === 0) errors.push({ field: `grants[${index}].scopes`, message: 'must name at least one scope (leave the grant out to grant nothing there)' });
      const catalogue = new Set(server.scopes.map((scope) => scope.name));
      for (const [scopeIndex, scope] of grant.scopes.entries()) {
        if (!catalogue.has(scope)) errors.push({ field: `grants[${index}].scopes[${scopeIndex}]`, message: `is not defined by ${server.identifier}` });
      }
      grants.set(server.id, { resourceServerId: server.id, resourceServer: server.identifier, scopes: uniqueScopes(grant.scopes) });
    }
    if (input.scopes !== undefined) {
      if (!defaultServer || !isAvailableTo(defaultServer, accountId)) {
        if (input.scopes.length > 0) errors.push({ field: 'scopes', message: 'there is no default resource server available to this account; use grants' });
      } else if (input.grants?.some((grant) => grant.resourceServer === defaultServer.identifier)) {
        errors.push({ field: 'scopes', message: `give the scopes of the default resource server (${defaultServer.identifier}) in scopes or in grants, not both` });
      } else {
        const catalogue = new Set(defaultServer.scopes.map((scope) => scope.name));
        const unknown = input.scopes.filter((scope) => !catalogue.has(scope));
        if (unknown.length > 0) errors.push({ field: 'scopes', message: `not defined by the default resource server (${defaultServer.identifier}): ${unknown.join(', ')}` });
        if (input.scopes.length > 0) grants.set(defaultServer.id, { resourceServerId: defaultServer.id, resourceServer: defaultServer.identifier, scopes: uniqueScopes(input.scopes) });
      }
    }
    const sorted = [...grants.values()].sort((a, b) => (a.resourceServer < b.resourceServer ? -1 : a.resourceServer > b.resourceServer ? 1 : 0));
    return { grants: sorted, errors };
  }
}

/** Queues a notification to the keypair's admins in the change's transaction. */
async function notify(
  trx: Knex.Transaction,
  event: NotificationEvent,
  keypair: { clientId: string; name: string; accountId: string; environmentId: string | null },
  actor: Actor,
  now: Date,
  details: Partial<NotificationPayload>,
): Promise<void> {
  const payload: NotificationPayload = { name: keypair.name, actorType: actor.type, actorId: actor.id, at: now.toISOString(), ...details };
  await enqueueNotifications(trx, [{ event, clientId: keypair.clientId, accountId: keypair.accountId, environmentId: keypair.environmentId, payload }], now);
}

function uniqueScopes(scopes: readonly string[]): string[] {
  return [...new Set(scopes)];
}

/** True when `after` takes away a scope `before` granted somewhere. */
function narrows(before: readonly Grant[], after: readonly Grant[]): boolean {
  return before.some((grant) => {
    const kept = new Set(after.find((candidate) => candidate.resourceServerId === grant.resourceServerId)?.scopes ?? []);
    return grant.scopes.some((scope) => !kept.has(scope));
  });
}

/** created_by and disabled_by record who acted: a user id, or "system". */
function actorLabel(actor: Actor): string {
  return actor.id ?? actor.type;
}

function camelChanges(changes: KeypairChanges): Partial<Keypair> {
  return {
    ...(changes.name !== undefined && { name: changes.name }),
    ...(changes.comment !== undefined && { comment: changes.comment }),
    ...(changes.rate_limit_per_minute !== undefined && { rateLimitPerMinute: changes.rate_limit_per_minute }),
    ...(changes.allowed_ips !== undefined && { allowedIps: changes.allowed_ips }),
    ...(changes.auto_disable !== undefined && { autoDisable: changes.auto_disable }),
    ...(changes.enabled !== undefined && { enabled: changes.enabled }),
    ...(changes.disabled_reason !== undefined && { disabledReason: changes.disabled_reason }),
  };
}

/** A change that only flips `enabled` is recorded as enabled/disabled; anything else as updated. */
function eventForUpdate(changes: KeypairChanges): string {
  const onlyState = changes.enabled !== undefined && Object.keys(changes).every((field) => field === 'enabled' || field.startsWith('disabled_'));
  if (onlyState && changes.enabled === false) return 'keypair.disabled';
  if (onlyState && changes.enabled === true) return 'keypair.enabled';
  return 'keypair.updated';
}
