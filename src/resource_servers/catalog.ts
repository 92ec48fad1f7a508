import type { Knex } from 'knex';
import { ALL, type ChangeFeed } from '../db/notify.js';
import { listResourceServers, type ResourceServer } from './store.js';

/**
 * Every resource server, held in memory: there are few, and the token path must not
 * query for them per request. Reloaded when the change feed names one.
 */
export class ResourceServerCatalog {
  #byIdentifier = new Map<string, ResourceServer>();
  #default: ResourceServer | undefined;

  private constructor(private readonly db: Knex) {}

  static async load(db: Knex, changes: ChangeFeed): Promise<ResourceServerCatalog> {
    const catalog = new ResourceServerCatalog(db);
    await catalog.reload();
    changes.subscribe((id) => {
      if (id === ALL || id.startsWith('rs_')) void catalog.reload().catch(() => undefined);
    });
    return catalog;
  }

  async reload(): Promise<void> {
    const servers = await listResourceServers(this.db);
    this.#byIdentifier = new Map(servers.map((server) => [server.identifier, server]));
    this.#default = servers.find((server) => server.isDefault);
  }

  byIdentifier(identifier: string): ResourceServer | undefined {
    return this.#byIdentifier.get(identifier);
  }

  get defaultServer(): ResourceServer | undefined {
    return this.#default;
  }

  all(): ResourceServer[] {
    return [...this.#byIdentifier.values()];
  }

  /** True when some resource server defines `scope`. */
  definesScope(scope: string): boolean {
    for (const server of this.#byIdentifier.values()) {
      if (server.scopes.some((definition) => definition.name === scope)) return true;
    }
    return false;
  }
}
