import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import Koa from 'koa';
import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { Authenticator } from './access/authenticate.js';
import { adminMiddleware } from './admin_http/router.js';
import { AuditHistory } from './audit/query.js';
import { consoleMiddleware } from './console/routes.js';
import { ConsoleSignIn } from './console/sign_in.js';
import type { Config } from './config/config.js';
import { DATABASE_RETRY_AFTER_SECONDS, openDatabase, type Database } from './db/database.js';
import { migrateLatest } from './db/migrate.js';
import { localChangeFeed, postgresChangeFeed, type ChangeFeed } from './db/notify.js';
import { grantsAtServer } from './keypairs/grant_store.js';
import { LastUsedRecorder } from './keypairs/last_used.js';
import { KeypairService } from './keypairs/service.js';
import { MaintenanceJob, type MaintenanceDeps } from './keypairs/maintenance.js';
import { NotificationWorker } from './notifications/worker.js';
import { logTransport, smtpTransport } from './notifications/transport.js';
import { ClientCache } from './oauth/clients.js';
import { TokenGuards } from './oauth/guards.js';
import { RateLimiter } from './oauth/rate_limit.js';
import { buildProvider } from './oauth/provider.js';
import { tokenRequestContext } from './oauth/request_context.js';
import { StatusLists } from './status/status_list.js';
import { Metrics } from './ops/metrics.js';
import { opsMiddleware } from './ops/routes.js';
import { ResourceServerCatalog } from './resource_servers/catalog.js';
import { ResourceServerService } from './resource_servers/service.js';
import { clientAddress } from './shared/client_address.js';
import { systemClock, type Clock } from './shared/clock.js';
import { createLogger, type Logger } from './shared/log.js';
import { loadKeySet, type KeySet } from './signing/keystore.js';
import { bootstrapFirstStart, type FirstStart } from './first_start.js';
import { TenancyService } from './tenancy/service.js';
import { AutoDisable } from './usage/auto_disable.js';
import { UsageRecorder, type RollupKeys } from './usage/recorder.js';
import { RetiredSecretNotices } from './usage/retired_secret.js';
import { UsageReport } from './usage/report.js';
import { deleteUsageBefore } from './usage/store.js';

export interface KeygateOptions {
  readonly clock?: Clock;
  readonly log?: Logger;
  /** An already open database (tests share one); otherwise DATABASE_URL or the embedded one. */
  readonly database?: Database;
}

export interface Keygate {
  readonly config: Config;
  readonly db: Database;
  readonly keypairs: KeypairService;
  readonly tenancy: TenancyService;
  readonly catalog: ResourceServerCatalog;
  readonly clients: ClientCache;
  readonly lastUsed: LastUsedRecorder;
  /** The usage log; undefined with USAGE_LOG=off. */
  readonly usage: UsageRecorder | undefined;
  readonly rateLimiter: RateLimiter;
  readonly notifications: NotificationWorker;
  readonly maintenance: MaintenanceJob;
  readonly changes: ChangeFeed;
  readonly metrics: Metrics;
  /** Set when this start created the first operator, account and environment. */
  readonly firstStart: FirstStart | undefined;
  readonly keySet: () => KeySet;
  /** Node's request listener, for http.createServer or supertest. */
  callback(): (req: IncomingMessage, res: ServerResponse) => Promise<void>;
  /** Re-reads the signing keys (SIGHUP): a rotated key signs from the next request. */
  reloadKeys(): Promise<void>;
  /** Flushes batched writes and closes the database (when this instance opened it). */
  close(): Promise<void>;
}

/** Routes of oidc-provider that Keygate serves, with their methods; every other one stays unreachable. */
const PROVIDER_ROUTES = new Map([
  ['/token', ['POST']],
  ['/jwks', ['GET', 'HEAD']],
]);
const DISCOVERY_PATHS = new Set(['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server']);

/**
 * Authorization-server metadata (RFC 8414), served at both well-known paths. Written
 * here rather than taken from oidc-provider, whose document advertises the
 * authorization, userinfo and session endpoints that Keygate does not serve.
 */
function serverMetadata(config: Config, catalog: ResourceServerCatalog): Record<string, unknown> {
  return {
    issuer: config.issuer,
    token_endpoint: `${config.issuer}/token`,
    jwks_uri: `${config.issuer}/jwks`,
    grant_types_supported: ['client_credentials'],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    response_types_supported: [],
    // Scopes of servers limited to named accounts stay out of this public document.
    scopes_supported: [...new Set(catalog.all().filter((server) => server.availableTo === null).flatMap((server) => server.scopes.map((scope) => scope.name)))],
    access_token_signing_alg_values_supported: [config.tokenSigningAlg],
  };
}

/** Rollup keys of the usage log: resources and scopes outside the catalogue count as "other", so clients cannot grow the rollups. */
function rollupKeysOf(catalog: ResourceServerCatalog): RollupKeys {
  return {
    resourceKey: (resource) => (resource === null ? 'none' : catalog.byIdentifier(resource) ? resource : 'other'),
    scopeKeys: (scope) => (scope === null ? [] : [...new Set(scope.split(' ').filter(Boolean).map((name) => (catalog.definesScope(name) ? name : 'other')))]),
  };
}

/** Composes Keygate: database, migrations, first start, caches and the HTTP app. */
export async function startKeygate(config: Config, options: KeygateOptions = {}): Promise<Keygate> {
  const clock = options.clock ?? systemClock;
  const log = options.log ?? createLogger(config.logLevel);
  let keySet = await loadKeySet(config);
  const db = options.database ?? (await openDatabase(config, log));
  const ownsDatabase = options.database === undefined;

  try {
    await db.withoutStatementLimit((knex) => migrateLatest(knex));
    const changes = db.embedded
      ? localChangeFeed()
      : await postgresChangeFeed(db.url, log, { connectTimeoutMs: db.timeouts.connectMs });
    const firstStart = await bootstrapFirstStart(db.knex, config, clock.now());
    const catalog = await ResourceServerCatalog.load(db.knex, changes, log);
    const clients = new ClientCache(db.knex, clock, changes, { maxAgeSeconds: config.clientCacheMaxAgeSeconds, log });
    // In the background: requests meanwhile fall back to one query per new keypair.
    const preloading = clients
      .preload()
      .then((keypairs) => log.info('client cache preloaded', { keypairs }))
      .catch((error: Error) => log.warn('client cache preload failed', { error: error.message }));
    const lastUsed = new LastUsedRecorder(db.knex, log);
    lastUsed.start(config.lastUsedFlushSeconds);
    const keypairs = new KeypairService({ db: db.knex, changes, catalog, clock, maxActiveKeypairs: config.maxActiveKeypairs });

    const rateLimiter = new RateLimiter(db.knex, log);
    // Only a shared database has other processes to share counts with.
    if (!db.embedded) rateLimiter.start();
    const guards = new TokenGuards(rateLimiter, config.rateLimitPerMinute, clock);
    const usage = config.usageLog ? new UsageRecorder(db.knex, rollupKeysOf(catalog), log) : undefined;
    if (usage) {
      const autoDisable = new AutoDisable({
        db: db.knex,
        keypairs,
        clock,
        log,
        policy: { windowSeconds: config.autoDisableWindowSeconds, minFailures: config.autoDisableMinFailures, failureRatio: config.autoDisableFailureRatio, enabledByDefault: config.autoDisableDefault },
      });
      usage.onFlushed((records) => autoDisable.check(records));
      const retiredSecrets = new RetiredSecretNotices({ db: db.knex, clock, log });
      usage.onFlushed((records) => retiredSecrets.check(records));
      usage.start(config.lastUsedFlushSeconds);
    }
    const transport = config.smtpUrl && config.mailFrom ? smtpTransport(config.smtpUrl, config.mailFrom) : logTransport(log);
    const notifications = new NotificationWorker({ db: db.knex, transport, clock, log, issuer: config.issuer });
    notifications.start();
    const maintenanceDeps: MaintenanceDeps = {
      db: db.knex,
      keypairs,
      clock,
      log,
      expiredRetentionDays: config.expiredRetentionDays,
      usageRetentionDays: config.usageRetentionDays,
      expiryWarningDays: config.expiryWarningDays,
      deleteUsageBefore: (before) => deleteUsageBefore(db.knex, before),
    };
    const maintenance = new MaintenanceJob(maintenanceDeps);
    maintenance.start();

    const tenancy = new TenancyService({ db: db.knex, changes, clock, keypairs });
    const resourceServers = new ResourceServerService({ db: db.knex, changes, catalog, clock, grants: grantsAtServer });
    const authenticator = new Authenticator(db.knex, config, () => keySet);
    const usageReport = new UsageReport(db.knex, clock, usage);
    const history = new AuditHistory(db.knex);
    const admin = adminMiddleware({ authenticator, keypairs, tenancy, resourceServers, history, usage: usageReport, clock, log, issuer: config.issuer, trustProxyHops: config.trustProxyHops });
    const signIn = new ConsoleSignIn({ db: db.knex, issuer: config.issuer, keySet: () => keySet, clock, sessionTtlSeconds: config.consoleSessionTtlSeconds });
    const adminConsole = consoleMiddleware({ authenticator, signIn, keypairs, tenancy, resourceServers, catalog, history, usage: usageReport, clock, db: db.knex, log, issuer: config.issuer, trustProxyHops: config.trustProxyHops });

    const metrics = new Metrics(db.knex);
    /** The request id of each request, for lines logged where only the raw request is at hand. */
    const requestIds = new WeakMap<IncomingMessage, string>();
    // A label must not take any value a client sends: unknown resources count as one.
    const resourceLabel = (ctx: KoaContextWithOIDC) => {
      const resource = ctx.oidc?.params?.resource;
      return typeof resource === 'string' && catalog.byIdentifier(resource) ? resource : 'unknown';
    };
    const makeProvider = () => {
      const built = buildProvider({ config, keySet, catalog, clients, lastUsed, guards, usage, clock, log });
      built.on('grant.success', (ctx: KoaContextWithOIDC) => metrics.tokensIssued.inc({ resource: resourceLabel(ctx) }));
      built.on('grant.error', (ctx: KoaContextWithOIDC, error: { error?: string }) => {
        metrics.tokensRefused.inc({ error: error.error ?? 'server_error', resource: resourceLabel(ctx) });
        if (error.error === 'temporarily_unavailable') ctx.set('Retry-After', String(DATABASE_RETRY_AFTER_SECONDS));
      });
      built.on('server_error', (ctx: KoaContextWithOIDC, error: Error) => {
        log.error('token endpoint error', { requestId: requestIds.get(ctx.req), error: error.message });
      });
      return built;
    };
    let provider: Provider = makeProvider();
    let providerCallback = provider.callback();

    const app = new Koa();
    app.silent = true;
    // Every request gets an id (the caller's X-Request-Id when it is sane), echoed back
    // and carried by every log line about it. The access line has no query string and
    // no headers: nothing a client sends as a credential reaches the log.
    const requestIdFor = (incoming: string | string[] | undefined) => (typeof incoming === 'string' && /^[\w.-]{1,64}$/.test(incoming) ? incoming : randomUUID());
    app.use(async (ctx, next) => {
      const requestId = requestIdFor(ctx.req.headers['x-request-id']);
      requestIds.set(ctx.req, requestId);
      ctx.state.requestId = requestId;
      ctx.set('X-Request-Id', requestId);
      const started = performance.now();
      try {
        await next();
      } finally {
        const seconds = (performance.now() - started) / 1000;
        const status = ctx.respond === false ? ctx.res.statusCode : ctx.status;
        const hot = ctx.path === '/token' || ctx.path === '/jwks';
        if (ctx.path === '/token') metrics.tokenLatency.observe(seconds);
        const routeOf = (ctx as { _matchedRoute?: unknown })._matchedRoute;
        if (typeof routeOf === 'string') metrics.adminRequests.inc({ method: ctx.method, route: routeOf, status: String(status) });
        const line = { requestId, method: ctx.method, path: ctx.path, status, ms: Math.round(seconds * 10_000) / 10 };
        if (hot) log.debug('request', line);
        else log.info('request', line);
      }
    });
    app.use(opsMiddleware({ db: db.knex, changes, keySet: () => keySet, metrics, metricsToken: config.metricsToken }));
    const statusLists = new StatusLists({ db: db.knex, clock, issuer: config.issuer, alg: config.tokenSigningAlg, ttlSeconds: config.statusListTtlSeconds, keySet: () => keySet });
    changes.subscribe(() => statusLists.invalidate());
    app.use(async (ctx, next) => {
      const match = /^\/statuslists\/(\d{1,9})$/.exec(ctx.path);
      if (!match || ctx.method !== 'GET') return next();
      // Content negotiation (draft-ietf-oauth-status-list §8): the JWT form only.
      if (!ctx.accepts('application/statuslist+jwt')) {
        ctx.status = 406;
        ctx.body = { error: 'not_acceptable', error_description: 'status lists are served as application/statuslist+jwt' };
        return;
      }
      let token: string | undefined;
      try {
        token = await statusLists.token(Number(match[1]));
      } catch (error) {
        log.error('status list failed', { requestId: ctx.state.requestId, error: (error as Error).message });
        ctx.status = 503;
        ctx.body = { error: 'temporarily_unavailable', error_description: 'the status list cannot be built right now' };
        return;
      }
      if (!token) {
        ctx.status = 404;
        ctx.body = { error: 'not_found', error_description: 'no such status list' };
        return;
      }
      ctx.set('Cache-Control', `public, max-age=${config.statusListTtlSeconds}`);
      ctx.type = 'application/statuslist+jwt';
      ctx.body = token;
    });
    app.use(async (ctx, next) => {
      if (ctx.method === 'GET' && DISCOVERY_PATHS.has(ctx.path)) {
        ctx.set('Cache-Control', 'public, max-age=300');
        ctx.body = serverMetadata(config, catalog);
        return;
      }
      const methods = PROVIDER_ROUTES.get(ctx.path);
      if (methods && !methods.includes(ctx.method)) {
        ctx.status = 405;
        ctx.set('Allow', methods.join(', '));
        ctx.body = { error: 'invalid_request', error_description: `${ctx.path} accepts ${methods.join(', ')}` };
        return;
      }
      // A provider route with its right method never gets here: callback() hands it to oidc-provider.
      await next();
    });
    app.use(admin);
    app.use(adminConsole);
    app.use((ctx) => {
      ctx.status = 404;
      ctx.body = { error: 'not_found', error_description: `no route for ${ctx.method} ${ctx.path}` };
    });

    const koaHandler = app.callback();
    /**
     * The token and JWKS requests go straight to oidc-provider (itself a Koa app)
     * without a Koa context of Keygate's: on the hot path that second context is
     * measurable. Everything else, wrong methods included, goes through Keygate's app.
     */
    const handle = (req: IncomingMessage, res: ServerResponse): Promise<void> => {
      const path = (req.url ?? '/').split('?', 1)[0]!;
      const methods = PROVIDER_ROUTES.get(path);
      if (!methods || !methods.includes(req.method ?? '')) return koaHandler(req, res);
      const requestId = requestIdFor(req.headers['x-request-id']);
      requestIds.set(req, requestId);
      res.setHeader('X-Request-Id', requestId);
      const started = performance.now();
      res.once('finish', () => {
        const seconds = (performance.now() - started) / 1000;
        if (path === '/token') metrics.tokenLatency.observe(seconds);
        log.debug('request', { requestId, method: req.method, path, status: res.statusCode, ms: Math.round(seconds * 10_000) / 10 });
      });
      return tokenRequestContext.run({ ip: clientAddress(req, config.trustProxyHops) }, () => providerCallback(req, res));
    };

    return {
      config,
      db,
      keypairs,
      tenancy,
      catalog,
      clients,
      lastUsed,
      usage,
      rateLimiter,
      notifications,
      maintenance,
      changes,
      metrics,
      firstStart,
      keySet: () => keySet,
      callback: () => handle,
      async reloadKeys() {
        keySet = await loadKeySet(config);
        provider = makeProvider();
        providerCallback = provider.callback();
      },
      async close() {
        await preloading;
        await maintenance.stop();
        await lastUsed.stop();
        await usage?.stop();
        await rateLimiter.stop();
        if (!db.embedded) await rateLimiter.sync(clock.now().getTime());
        await notifications.stop();
        catalog.close();
        await changes.close();
        if (ownsDatabase) await db.close();
      },
    };
  } catch (error) {
    if (ownsDatabase) await db.close();
    throw error;
  }
}
