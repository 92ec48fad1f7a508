import type { Knex } from 'knex';
import type Provider from 'oidc-provider';
import { isDatabaseUnavailable } from '../db/database.js';
import { ALL, type ChangeFeed } from '../db/notify.js';
import { findCredentialsOf, listEnabledCredentials, type KeypairCredentials } from '../keypairs/store.js';
import type { Clock } from '../shared/clock.js';
import { hasPrefix } from '../shared/ids.js';
import type { Logger } from '../shared/log.js';

type ProviderClient = InstanceType<Provider['Client']>;

/** A keypair as oidc-provider sees it (`client`) and as Keygate's rules read it (`credentials`). */
export interface CachedClient {
  readonly client: ProviderClient;
  readonly credentials: KeypairCredentials;
}

/** What the cache keeps per keypair: its credentials, and when they were read. */
interface CachedCredentials {
  readonly credentials: KeypairCredentials;
  /** When it was read from the database (clock ms): past the maximum age it is read again. */
  readonly loadedAt: number;
}

/** At most one "serving from cache" line per this many ms, with the count since the last. */
const FALLBACK_LOG_INTERVAL_MS = 10_000;

/** Where a client view keeps the keypair it stands for. */
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
 * Keygate's cache of keypairs for the token endpoint, keyed by client_id.
 *
 * oidc-provider looks a dynamic client up through its adapter on every request and
 * keeps only 100 built clients (OIDC-PROVIDER-NOTES.md); this replaces
 * `provider.Client.find` (see token_request.ts) so a keypair costs one query until it
 * changes. Changes arrive through the change feed (LISTEN/NOTIFY across processes).
 * Enabled/expiry are checked on every find against the clock, so an expiry needs no
 * notice.
 *
 * It keeps each keypair's credentials only, not an oidc-provider Client: every
 * keypair has the same client metadata but its client_id, so one Client is built
 * (and validated) per provider, and each request gets a view of it that differs in
 * its client_id (`clientView`). 100k keypairs cost their credentials, not 100k
 * validated Clients, and a keypair's first use builds nothing.
 *
 * The cache is trusted only while the feed is up and an entry is younger than
 * CLIENT_CACHE_MAX_AGE: otherwise each request reads its keypair (one primary-key
 * read). Only when that read fails because the database is unreachable is a cached
 * entry served anyway, and that is logged.
 */
export class ClientCache {
  #entries = new Map<string, CachedCredentials>();
  readonly #templates = new WeakMap<Provider, ProviderClient>();
  readonly #maxAgeMs: number;
  readonly #log: Logger | undefined;
  #fallbacks = { served: 0, loggedAt: -Infinity };
  /** Bumped by every invalidation; a fill that raced one is not cached. */
  #invalidations = 0;
  /** Per running preload, the ids invalidated since it started: its rows for them may be stale. */
  #invalidatedDuringPreloads = new Set<Set<string>>();
  /** Keypairs to read in the next batch, each with the requests waiting for it. */
  #pendingReads: Map<string, PendingRead> | undefined;
  /** A batch read is in flight. */
  #reading = false;

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
    if (clientId === ALL) this.#entries.clear();
    else this.#entries.delete(clientId);
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
          // An entry read after this page was is fresher than its row: it stays.
          const newer = (this.#entries.get(credentials.clientId)?.loadedAt ?? -Infinity) > loadedAt;
          if (!invalidated.has(credentials.clientId) && !invalidated.has(ALL) && !newer) {
            this.#remember(credentials, loadedAt);
            loaded += 1;
          }
        }
        if (page.length < pageSize) break;
        after = page.at(-1)!.clientId;
        // Let requests in between pages: turning a page of rows into credentials is this thread's work.
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
   * The keypair `clientId` names, as a client of `provider`; undefined when there is
   * no such keypair (disabled and expired ones are found: their refusal is the token
   * request's to make). Throws the database's error when it cannot be read and no
   * cached copy stands in.
   */
  async find(provider: Provider, clientId: string): Promise<CachedClient | undefined> {
    // Ids that cannot be a keypair's never reach the database.
    if (typeof clientId !== 'string' || !hasPrefix('keypair', clientId)) return undefined;
    const now = this.clock.now().getTime();
    const cached = this.#entries.get(clientId);
    if (cached && this.changes.state === 'up' && now - cached.loadedAt < this.#maxAgeMs) return this.#found(provider, cached.credentials);

    const invalidationsBefore = this.#invalidations;
    let credentials: KeypairCredentials | undefined;
    try {
      credentials = await this.#read(clientId);
    } catch (error) {
      if (!isDatabaseUnavailable(error) || !cached) throw error;
      this.logFallback(now, error);
      return this.#found(provider, cached.credentials);
    }
    this.#entries.delete(clientId);
    // Deleted: no stale copy is left to be served later as a fallback.
    if (!credentials) return undefined;
    if (this.#invalidations === invalidationsBefore) this.#remember(credentials, now);
    return this.#found(provider, credentials);
  }

  /**
   * One keypair's credentials from the database. One read is in flight at a time, and
   * the misses that arrive meanwhile are read together when it is done (as a database
   * groups commits): keypairs just created, or a cache emptied by an outage, cost one
   * round trip per batch under load, not one per request; a lone miss is read at once.
   */
  #read(clientId: string): Promise<KeypairCredentials | undefined> {
    this.#pendingReads ??= new Map();
    let waiting = this.#pendingReads.get(clientId);
    if (!waiting) this.#pendingReads.set(clientId, (waiting = pendingRead()));
    if (!this.#reading) void this.#readBatches();
    return waiting.promise;
  }

  async #readBatches(): Promise<void> {
    this.#reading = true;
    while (this.#pendingReads) {
      const batch = this.#pendingReads;
      this.#pendingReads = undefined;
      try {
        const found = new Map((await findCredentialsOf(this.db, [...batch.keys()])).map((credentials) => [credentials.clientId, credentials]));
        for (const [clientId, waiting] of batch) waiting.resolve(found.get(clientId));
      } catch (error) {
        for (const waiting of batch.values()) waiting.reject(error);
      }
    }
    this.#reading = false;
  }

  #remember(credentials: KeypairCredentials, loadedAt: number): void {
    // Re-inserted, so that the oldest-first eviction below drops the longest unread.
    this.#entries.delete(credentials.clientId);
    if (this.#entries.size >= MAX_ENTRIES) this.#entries.delete(this.#entries.keys().next().value as string);
    this.#entries.set(credentials.clientId, { credentials, loadedAt });
  }

  #found(provider: Provider, credentials: KeypairCredentials): CachedClient {
    return { client: this.#clientView(provider, credentials), credentials };
  }

  /**
   * `credentials` as a client of `provider`: an object whose prototype is the one
   * Client built for this provider, with its own client_id and keypair. oidc-provider
   * reads the rest of the metadata (auth method, grant types) through the prototype.
   */
  #clientView(provider: Provider, credentials: KeypairCredentials): ProviderClient {
    let template = this.#templates.get(provider);
    if (!template) this.#templates.set(provider, (template = buildTemplate(provider)));
    return Object.create(template, {
      clientId: { value: credentials.clientId, enumerable: true },
      [CREDENTIALS]: { value: credentials },
    }) as ProviderClient;
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

interface PendingRead {
  readonly promise: Promise<KeypairCredentials | undefined>;
  resolve(credentials: KeypairCredentials | undefined): void;
  reject(error: unknown): void;
}

/** Promise.withResolvers, which Node 20 lacks. */
function pendingRead(): PendingRead {
  let resolve!: PendingRead['resolve'];
  let reject!: PendingRead['reject'];
  const promise = new Promise<KeypairCredentials | undefined>((onResolve, onReject) => {
    resolve = onResolve;
    reject = onReject;
  });
  return { promise, resolve, reject };
}

/** The one validated Client every keypair's view inherits from: the metadata all keypairs share. */
function buildTemplate(provider: Provider): ProviderClient {
  // The typings hide the constructor's metadata argument; it is what addClient passes.
  const ClientClass = provider.Client as unknown as new (metadata: Record<string, unknown>) => ProviderClient;
  return new ClientClass({
    // Never a keypair's id (the prefix check in find refuses it); each view has its own.
    client_id: 'keygate-client-template',
    client_secret: SECRET_PLACEHOLDER,
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic',
  });
}
