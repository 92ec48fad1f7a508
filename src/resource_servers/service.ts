import type { Knex } from 'knex';
import { appendEvent, type Actor } from '../audit/store.js';
import type { ChangeFeed } from '../db/notify.js';
import type { Clock } from '../shared/clock.js';
import { KeygateError, notFound, validationFailed } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import { existingAccountIds } from '../tenancy/store.js';
import type { ResourceServerCatalog } from './catalog.js';
import { clearDefault, findResourceServerByIdentifier, insertResourceServer, isAvailableTo, lockResourceServer, updateResourceServerRow, type ResourceServer, type ScopeDefinition } from './store.js';

export interface ResourceServerInput {
  readonly identifier: string;
  readonly name: string;
  readonly scopes: readonly ScopeDefinition[];
  readonly accessTokenTtl?: number | undefined;
  readonly isDefault?: boolean | undefined;
  /** Account ids; null or absent: every account. */
  readonly availableTo?: readonly string[] | null | undefined;
}

/**
 * What narrowing a resource server does to the keypairs' grants there, in the change's
 * transaction; each returns the client_ids narrowed, whose tokens it revoked. The
 * keypairs module implements it (keypairs/grant_store.ts): a dependency rather than an
 * import, as keypairs build on resource servers, not the reverse.
 */
export interface GrantsAtServer {
  /** Drops the grants held by keypairs of accounts outside `accountIds`. */
  removeOutsideAccounts(trx: Knex.Transaction, resourceServerId: string, accountIds: readonly string[], now: Date): Promise<string[]>;
  /** Takes the scopes outside `catalogue` out of the grants (a grant left empty goes). */
  removeScopesOutside(trx: Knex.Transaction, resourceServerId: string, catalogue: readonly string[], now: Date): Promise<string[]>;
}

/** Operators' changes to resource servers; every process reloads its catalog on the change notice. */
export class ResourceServerService {
  constructor(private readonly deps: { db: Knex; changes: ChangeFeed; catalog: ResourceServerCatalog; clock: Clock; grants: GrantsAtServer }) {}

  /** Every resource server, or with `accountIds` those available to one of those accounts (what an admin there sees). */
  list(accountIds?: ReadonlySet<string>): ResourceServer[] {
    const all = this.deps.catalog.all();
    return accountIds === undefined ? all : all.filter((server) => [...accountIds].some((accountId) => isAvailableTo(server, accountId)));
  }

  /** One resource server; with `accountIds`, one not available to any of them is not found. */
  get(id: string, accountIds?: ReadonlySet<string>): ResourceServer {
    const server = this.list(accountIds).find((candidate) => candidate.id === id);
    if (!server) throw notFound('Resource server');
    return server;
  }

  async create(actor: Actor, input: ResourceServerInput): Promise<ResourceServer> {
    const now = this.deps.clock.now();
    const id = newId('resourceServer');
    await this.deps.db.transaction(async (trx) => {
      if (await findResourceServerByIdentifier(trx, input.identifier)) {
        throw new KeygateError('conflict', 'A resource server with this identifier exists.');
      }
      await checkAccounts(trx, input.availableTo);
      if (input.isDefault) await clearDefault(trx, now);
      await insertResourceServer(trx, { id, identifier: input.identifier, name: input.name, scopes: input.scopes, accessTokenTtl: input.accessTokenTtl ?? 300, isDefault: input.isDefault ?? false, availableTo: input.availableTo ?? null }, now);
      await appendEvent(trx, actor, { action: 'resource_server.created', targetType: 'resource_server', targetId: id, accountId: null, environmentId: null, after: { ...input } }, now);
      await this.deps.changes.publish(trx, [id]);
    });
    await this.deps.catalog.reload();
    return this.get(id);
  }

  /**
   * Changes a resource server. Limiting `availableTo` removes the grants there of
   * keypairs of the accounts left out, and taking scopes out of the catalogue takes
   * them out of the grants there (a grant left empty is removed); either revokes the
   * tokens of the keypairs narrowed (a fresh status index).
   */
  async update(actor: Actor, id: string, input: Partial<Omit<ResourceServerInput, 'identifier'>>): Promise<ResourceServer> {
    const now = this.deps.clock.now();
    const before = this.get(id);
    let narrowed: string[] = [];
    await this.deps.db.transaction(async (trx) => {
      const row = await lockResourceServer(trx, id);
      if (!row) throw notFound('Resource server');
      if (input.isDefault === false && row.isDefault) throw new KeygateError('conflict', 'Make another resource server the default instead.');
      await checkAccounts(trx, input.availableTo);
      if (input.isDefault) await clearDefault(trx, now, id);
      await updateResourceServerRow(trx, id, input, now);
      if (input.availableTo) narrowed = await this.deps.grants.removeOutsideAccounts(trx, id, input.availableTo, now);
      if (input.scopes) narrowed = [...new Set([...narrowed, ...(await this.deps.grants.removeScopesOutside(trx, id, input.scopes.map((scope) => scope.name), now))])];
      await appendEvent(trx, actor, {
        action: 'resource_server.updated',
        targetType: 'resource_server',
        targetId: id,
        accountId: null,
        environmentId: null,
        before: { ...before },
        after: { ...input, ...(narrowed.length > 0 && { grantsRemovedFrom: narrowed }) },
      }, now);
      await this.deps.changes.publish(trx, [id, ...narrowed]);
    });
    // Every process reloads on the notice; this one before it answers.
    await this.deps.catalog.reload();
    return this.get(id);
  }
}

/** Every named account must exist: a typo would otherwise hide the server from its intended account. */
async function checkAccounts(trx: Knex.Transaction, accountIds: readonly string[] | null | undefined): Promise<void> {
  if (!accountIds || accountIds.length === 0) return;
  const known = await existingAccountIds(trx, accountIds);
  const errors = accountIds.flatMap((accountId, index) => (known.has(accountId) ? [] : [{ field: `availableTo[${index}]`, message: 'is not an account' }]));
  if (errors.length > 0) throw validationFailed(errors);
}
