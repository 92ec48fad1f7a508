import type { Knex } from 'knex';
import { appendEvent, type Actor } from '../audit/store.js';
import type { ChangeFeed } from '../db/notify.js';
import type { Clock } from '../shared/clock.js';
import { KeygateError, notFound, validationFailed } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import { reissueStatusIndexes } from '../status/status_list.js';
import type { ResourceServerCatalog } from './catalog.js';
import { insertResourceServer, isAvailableTo, type ResourceServer, type ScopeDefinition } from './store.js';

export interface ResourceServerInput {
  readonly identifier: string;
  readonly name: string;
  readonly scopes: readonly ScopeDefinition[];
  readonly accessTokenTtl?: number | undefined;
  readonly isDefault?: boolean | undefined;
  /** Account ids; null or absent: every account. */
  readonly availableTo?: readonly string[] | null | undefined;
}

/** Operators' changes to resource servers; every process reloads its catalog on the change notice. */
export class ResourceServerService {
  constructor(private readonly deps: { db: Knex; changes: ChangeFeed; catalog: ResourceServerCatalog; clock: Clock }) {}

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
      if (await trx('resource_servers').where({ identifier: input.identifier }).first()) {
        throw new KeygateError('conflict', 'A resource server with this identifier exists.');
      }
      await checkAccounts(trx, input.availableTo);
      if (input.isDefault) await trx('resource_servers').where({ is_default: true }).update({ is_default: false, updated_at: now });
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
      const row = await trx('resource_servers').where({ id }).forUpdate().first();
      if (!row) throw notFound('Resource server');
      if (input.isDefault === false && row.is_default) throw new KeygateError('conflict', 'Make another resource server the default instead.');
      await checkAccounts(trx, input.availableTo);
      if (input.isDefault) await trx('resource_servers').where({ is_default: true }).whereNot({ id }).update({ is_default: false, updated_at: now });
      await trx('resource_servers').where({ id }).update({
        ...(input.name !== undefined && { name: input.name }),
        ...(input.scopes !== undefined && { scopes: JSON.stringify(input.scopes) }),
        ...(input.accessTokenTtl !== undefined && { access_token_ttl: input.accessTokenTtl }),
        ...(input.isDefault !== undefined && { is_default: input.isDefault }),
        ...(input.availableTo !== undefined && { available_to: input.availableTo === null ? null : [...input.availableTo] }),
        updated_at: now,
      });
      if (input.availableTo) narrowed = await removeGrantsOutside(trx, id, input.availableTo, now);
      if (input.scopes) narrowed = [...new Set([...narrowed, ...(await removeScopesOutside(trx, id, input.scopes.map((scope) => scope.name), now))])];
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
  const known = new Set(await trx('accounts').whereIn('id', [...accountIds]).pluck<string[]>('id'));
  const errors = accountIds.flatMap((accountId, index) => (known.has(accountId) ? [] : [{ field: `availableTo[${index}]`, message: 'is not an account' }]));
  if (errors.length > 0) throw validationFailed(errors);
}

/** Drops the grants at `resourceServerId` of keypairs outside `accountIds`; returns their client_ids. */
async function removeGrantsOutside(trx: Knex.Transaction, resourceServerId: string, accountIds: readonly string[], now: Date): Promise<string[]> {
  const removed = await trx.raw<{ rows: Array<{ client_id: string }> }>(
    `delete from keypair_grants g using keypairs k
      where g.client_id = k.client_id and g.resource_server_id = ? and not (k.account_id = any(?::text[]))
      returning g.client_id`,
    [resourceServerId, [...accountIds]],
  );
  const clientIds = removed.rows.map((row) => row.client_id);
  if (clientIds.length === 0) return [];
  await reissueStatusIndexes(trx, clientIds, now);
  await trx('keypairs').whereIn('client_id', clientIds).update({ version: trx.raw('version + 1'), updated_at: now });
  return clientIds;
}

/**
 * Takes the scopes outside `catalogue` out of the grants at `resourceServerId` and
 * removes grants left empty, so a scope defined again later is not granted anew to its
 * old holders; returns the client_ids narrowed, whose tokens it revokes.
 */
async function removeScopesOutside(trx: Knex.Transaction, resourceServerId: string, catalogue: readonly string[], now: Date): Promise<string[]> {
  // A grant keeps at least one scope (its CHECK): those left with none go first.
  const emptied = await trx.raw<{ rows: Array<{ client_id: string }> }>(
    `delete from keypair_grants where resource_server_id = ? and not (scopes && ?::text[]) returning client_id`,
    [resourceServerId, [...catalogue]],
  );
  const narrowed = await trx.raw<{ rows: Array<{ client_id: string }> }>(
    `update keypair_grants g
        set scopes = array(select t.s from unnest(g.scopes) with ordinality as t(s, ord) where t.s = any(?::text[]) order by t.ord)
      where g.resource_server_id = ? and not (g.scopes <@ ?::text[])
      returning g.client_id`,
    [[...catalogue], resourceServerId, [...catalogue]],
  );
  const clientIds = [...emptied.rows, ...narrowed.rows].map((row) => row.client_id);
  if (clientIds.length === 0) return [];
  await reissueStatusIndexes(trx, clientIds, now);
  await trx('keypairs').whereIn('client_id', clientIds).update({ version: trx.raw('version + 1'), updated_at: now });
  return clientIds;
}
