import type { Knex } from 'knex';
import { appendEvent, type Actor } from '../audit/store.js';
import type { ChangeFeed } from '../db/notify.js';
import type { Clock } from '../shared/clock.js';
import { KeygateError, notFound } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import type { ResourceServerCatalog } from './catalog.js';
import { insertResourceServer, type ResourceServer, type ScopeDefinition } from './store.js';

export interface ResourceServerInput {
  readonly identifier: string;
  readonly name: string;
  readonly scopes: readonly ScopeDefinition[];
  readonly accessTokenTtl?: number | undefined;
  readonly isDefault?: boolean | undefined;
}

/** Operators' changes to resource servers; every process reloads its catalog on the change notice. */
export class ResourceServerService {
  constructor(private readonly deps: { db: Knex; changes: ChangeFeed; catalog: ResourceServerCatalog; clock: Clock }) {}

  list(): ResourceServer[] {
    return this.deps.catalog.all();
  }

  get(id: string): ResourceServer {
    const server = this.deps.catalog.all().find((candidate) => candidate.id === id);
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
      if (input.isDefault) await trx('resource_servers').where({ is_default: true }).update({ is_default: false, updated_at: now });
      await insertResourceServer(trx, { id, identifier: input.identifier, name: input.name, scopes: input.scopes, accessTokenTtl: input.accessTokenTtl ?? 300, isDefault: input.isDefault ?? false }, now);
      await appendEvent(trx, actor, { action: 'resource_server.created', targetType: 'resource_server', targetId: id, accountId: null, environmentId: null, after: { ...input } }, now);
      await this.deps.changes.publish(trx, [id]);
    });
    await this.deps.catalog.reload();
    return this.get(id);
  }

  async update(actor: Actor, id: string, input: Partial<Omit<ResourceServerInput, 'identifier'>>): Promise<ResourceServer> {
    const now = this.deps.clock.now();
    const before = this.get(id);
    await this.deps.db.transaction(async (trx) => {
      const row = await trx('resource_servers').where({ id }).forUpdate().first();
      if (!row) throw notFound('Resource server');
      if (input.isDefault === false && row.is_default) throw new KeygateError('conflict', 'Make another resource server the default instead.');
      if (input.isDefault) await trx('resource_servers').where({ is_default: true }).whereNot({ id }).update({ is_default: false, updated_at: now });
      await trx('resource_servers').where({ id }).update({
        ...(input.name !== undefined && { name: input.name }),
        ...(input.scopes !== undefined && { scopes: JSON.stringify(input.scopes) }),
        ...(input.accessTokenTtl !== undefined && { access_token_ttl: input.accessTokenTtl }),
        ...(input.isDefault !== undefined && { is_default: input.isDefault }),
        updated_at: now,
      });
      await appendEvent(trx, actor, { action: 'resource_server.updated', targetType: 'resource_server', targetId: id, accountId: null, environmentId: null, before: { ...before }, after: { ...input } }, now);
      await this.deps.changes.publish(trx, [id]);
    });
    // Every process reloads on the notice; this one before it answers.
    await this.deps.catalog.reload();
    return this.get(id);
  }
}
