import type { Knex } from 'knex';
import { ALL, type ChangeFeed } from '../db/notify.js';
import type { Logger } from '../shared/log.js';
import { listResourceServers, type ResourceServer } from './store.js';

/** Retries of a failed reload: the first after this many ms, each next one twice as late, at most MAX_RETRY_DELAY_MS. */
const FIRST_RETRY_DELAY_MS = 1000;
const MAX_RETRY_DELAY_MS = 30_000;

/**
 * Every resource server, held in memory: there are few, and the token path must not
 * query for them per request. Reloaded when the change feed names one; a reload that
 * fails is logged and retried with backoff until one succeeds (or the catalogue is
 * closed), so a lost reload does not leave it stale until the next change.
 */
export class ResourceServerCatalog {
  #byIdentifier = new Map<string, ResourceServer>();
  #default: ResourceServer | undefined;
  #retry: NodeJS.Timeout | undefined;
  #failures = 0;
  #closed = false;

  private constructor(
    private readonly db: Knex,
    private readonly log: Logger | undefined,
  ) {}

  static async load(db: Knex, changes: ChangeFeed, log?: Logger): Promise<ResourceServerCatalog> {
    const catalog = new ResourceServerCatalog(db, log);
    await catalog.reload();
    changes.subscribe((id) => {
      if (id === ALL || id.startsWith('rs_')) catalog.#reloadInBackground();
    });
    return catalog;
  }

  /** Stops retrying a failed reload. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#retry);
    this.#retry = undefined;
  }

  #reloadInBackground(): void {
    if (this.#closed) return;
    clearTimeout(this.#retry);
    this.#retry = undefined;
    this.reload().then(
      () => {
        if (this.#failures > 0) this.log?.info('resource server catalogue reloaded after failures', { failures: this.#failures });
        this.#failures = 0;
      },
      (error: Error) => {
        this.#failures += 1;
        const retryInMs = Math.min(FIRST_RETRY_DELAY_MS * 2 ** (this.#failures - 1), MAX_RETRY_DELAY_MS);
        this.log?.warn('resource server catalogue reload failed', { error: error.message, failures: this.#failures, retryInMs });
        if (this.#closed || this.#retry !== undefined) return;
        this.#retry = setTimeout(() => this.#reloadInBackground(), retryInMs);
        this.#retry.unref();
      },
    );
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
