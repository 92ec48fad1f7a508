import type { Knex } from 'knex';
import type Provider from 'oidc-provider';
import { isDatabaseUnavailable } from '../db/database.js';
import { ALL, type ChangeFeed } from '../db/notify.js';
import { findCredentials, listEnabledCredentials, type KeypairCredentials } from '../keypairs/store.js';
import type { Clock } from '../shared/clock.js';
import { hasPrefix } from '../shared/ids.js';
import type { Logger } from '../shared/log.js';

type ProviderClient = InstanceType<Provider['Client']>;

/** A keypair as oidc-provider sees it (`client`) and as Keygate's rules read it (`credentials`). */
export interface CachedClient {
  readonly client: ProviderClient;
  readonly credentials: KeypairCredentials;
  /** When it was read from the database (clock ms): past the maximum age it is read again. */
  readonly loadedAt: number;
}

interface PreloadedCredentials {
  readonly credentials: KeypairCredentials;
  readonly loadedAt: number;
}

/** At most one "serving from cache" line per this many ms, with the count since the last. */
const FALLBACK_LOG_INTERVAL_MS = 10_000;

/** Where a built oidc-provider Client keeps the keypair it was built from. */
const CREDENTIALS = Symbol('keygate.credentials');

/**
 * Stands in for a client_secret in oidc-provider's metadata: it needs one for the
 * secret-based auth methods, but Keygate stores only digests and checks them in
 * compareClientSecret, so this value is never compared with anything.
 */
const SECRET_PLACEHOLDER = 'keygate-checks-sha256-digests';

/** Enough for every active keypair of a large install; past it the oldest entries go. */
const MAX_ENTRIES = 200_000;

/**
 * Keygate's cache of built oidc-provider clients, keyed by client_id.
 *
 * oidc-provider looks a dynamic client up through its adapter on every request and
 * keeps only 100 built clients (OIDC-PROVIDER-NOTES.md); this replaces
 * `provider.Client.find` (see token_request.ts) so a keypair costs one query and one
 * validation until it changes. Changes arrive through the change feed (LISTEN/NOTIFY across processes).
 * Enabled/expiry are checked on every find against the clock, so an expiry needs no
 * notice.
 *
 * The cache is trusted only while the feed is up and an entry is younger than
 * CLIENT_CACHE_MAX_AGE: otherwise each request reads its keypair (one primary-key
 * read). Only when that read fails because the database is unreachable is a cached
 * entry served anyway, and that is logged.
 */
export class ClientCache {
  #entries = new Map<string, CachedClient>();
  /** Credentials loaded ahead of use (preload); a Client is built from them on first use. */
  #preloaded = new Map<string, PreloadedCredentials>();
  readonly #maxAgeMs: number;
  readonly #log: Logger | undefined;
  #fallbacks = { served: 0, loggedAt: -Infinity };
  /** Bumped by every invalidation; a fill that raced one is not cached. */
  #invalidations = 0;
  /** Per running preload, the ids invalidated since it started: its rows for them may be stale. */
  #invalidatedDuringPreloads = new Set<Set<string>>();

  constructor(
    private readonly db: Knex,
    private readonly clock: Clock,
    private readonly changes: ChangeFeed,
    options: { maxAgeSeconds?: number; log?: Logger } = {},
  ) {
    this.#maxAgeMs = (options.maxAgeSeconds ?? 60) * 1000;
    this.#log = options.log;
    changes.subscribe((id) => this.invalidate(id));
    // Back from an outage: the cache was emptied (ALL); fill it again in the background.
    changes.onStateChange((state) => {
      if (state === 'up') void this.preload().catch(() => undefined);
    });
  }

  invalidate(clientId: string): void {
    this.#invalidations += 1;
    for (const invalidated of this.#invalidatedDuringPreloads) invalidated.add(clientId);
    if (clientId === ALL) {
      this.#entries.clear();
      this.#preloaded.clear();
    } else {
      this.#entries.delete(clientId);
      this.#preloaded.delete(clientId);
    }
  }

  /**
   * Loads every enabled keypair's credentials, a page at a time, so that the first
   * request of each keypair costs no database round trip: with 100k keypairs drawn
   * at random, almost every request would otherwise be a miss for a long time.
   */
  async preload(pageSize = 1000): Promise<number> {
    const invalidated = new Set<string>();
    this.#invalidatedDuringPreloads.add(invalidated);
    let loaded = 0;
    try {
      for (let after = ''; ; ) {
        // Aged from before the read: a change committed during it is not older than this.
        const loadedAt = this.clock.now().getTime();
        const page = await listEnabledCredentials(this.db, after, pageSize);
        for (const credentials of page) {
          if (!invalidated.has(credentials.clientId) && !invalidated.has(ALL) && !this.#entries.has(credentials.clientId)) {
            this.#preloaded.set(credentials.clientId, { credentials, loadedAt });
            loaded += 1;
          }
        }
        if (page.length < pageSize) break;
        after = page.at(-1)!.clientId;
        // Let requests in between pages: the embedded database shares this thread.
        await new Promise((resolve) => setImmediate(resolve));
      }
    } finally {
      this.#invalidatedDuringPreloads.delete(invalidated);
    }
    return loaded;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The keypair behind a client that oidc-provider authenticated. */
  static credentialsOf(client: unknown): KeypairCredentials | undefined {
    return (client as { [CREDENTIALS]?: KeypairCredentials } | undefined)?.[CREDENTIALS];
  }

  /**
   * The keypair `clientId` names, built into `provider`'s Client class; undefined when
   * there is no such keypair (disabled and expired ones are found: their refusal is the
   * token request's to make). Throws the database's error when it cannot be read and no
   * cached copy stands in.
   */
  async find(provider: Provider, clientId: string): Promise<CachedClient | undefined> {
    // Ids that cannot be a keypair's never reach the database.
    if (typeof clientId !== 'string' || !hasPrefix('keypair', clientId)) return undefined;
    const now = this.clock.now().getTime();
    const trusted = (loadedAt: number) => this.changes.state === 'up' && now - loadedAt < this.#maxAgeMs;
    const cached = this.#entries.get(clientId);
    if (cached && trusted(cached.loadedAt)) return cached;
    const preloaded = this.#preloaded.get(clientId);

    const invalidationsBefore = this.#invalidations;
    let credentials: KeypairCredentials | undefined;
    if (preloaded && trusted(preloaded.loadedAt)) {
      credentials = preloaded.credentials;
    } else {
      try {
        credentials = await findCredentials(this.db, clientId);
      } catch (error) {
        if (!isDatabaseUnavailable(error)) throw error;
        const fallback = cached ?? (preloaded && this.build(provider, preloaded.credentials, preloaded.loadedAt));
        if (!fallback) throw error;
        this.logFallback(now, error);
        return fallback;
      }
    }
    this.#preloaded.delete(clientId);
    if (!credentials) {
      // Deleted: no stale copy may be served later as a fallback.
      this.#entries.delete(clientId);
      return undefined;
    }
    const entry = this.build(provider, credentials, credentials === preloaded?.credentials ? preloaded.loadedAt : now);
    if (this.#invalidations === invalidationsBefore) {
      this.#entries.delete(clientId);
      if (this.#entries.size >= MAX_ENTRIES) this.#entries.delete(this.#entries.keys().next().value as string);
      this.#entries.set(clientId, entry);
    }
    return entry;
  }

  private build(provider: Provider, credentials: KeypairCredentials, loadedAt: number): CachedClient {
    // The typings hide the constructor's metadata argument; it is what addClient passes.
    const ClientClass = provider.Client as unknown as new (metadata: Record<string, unknown>) => ProviderClient;
    const client = new ClientClass({
      client_id: credentials.clientId,
      client_secret: SECRET_PLACEHOLDER,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
    });
    Object.defineProperty(client, CREDENTIALS, { value: credentials });
    return { client, credentials, loadedAt };
  }

  /** The database is unreachable and the cache answers instead: say so, at a bounded rate. */
  private logFallback(now: number, error: unknown): void {
    this.#fallbacks.served += 1;
    if (now - this.#fallbacks.loggedAt < FALLBACK_LOG_INTERVAL_MS) return;
    this.#log?.warn('database unreachable: serving keypairs from the cache', {
      changeFeed: this.changes.state,
      served: this.#fallbacks.served,
      error: (error as Error).message,
    });
    this.#fallbacks = { served: 0, loggedAt: now };
  }
}
