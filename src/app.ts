import type { IncomingMessage, ServerResponse } from 'node:http';
import type Provider from 'oidc-provider';
import { Authenticator } from './access/authenticate.js';
import { adminMiddleware } from './admin_http/router.js';
import { AuditHistory } from './audit/query.js';
import { consoleMiddleware } from './console/routes.js';
import { ConsoleSignIn } from './console/sign_in.js';
import type { Config } from './config/config.js';
import { openDatabase, type Database } from './db/database.js';
import { migrateLatest } from './db/migrate.js';
import { localChangeFeed, postgresChangeFeed, type ChangeFeed } from './db/notify.js';
import { httpApp } from './http/app.js';
import { RequestLog } from './http/request_log.js';
import { grantsAtServer } from './keypairs/grant_store.js';
import { LastUsedRecorder } from './keypairs/last_used.js';
import { KeypairService } from './keypairs/service.js';
import { MaintenanceJob } from './keypairs/maintenance.js';
import { NotificationWorker } from './notifications/worker.js';
import { logTransport, smtpTransport } from './notifications/transport.js';
import { ClientAssertions } from './oauth/client_assertion.js';
import { ClientCache } from './oauth/clients.js';
import { TokenGuards } from './oauth/guards.js';
import { RateLimiter } from './oauth/rate_limit.js';
import { buildProvider } from './oauth/provider.js';
import { ReplayStore } from './oauth/replay_store.js';
import { oauthRoutes } from './oauth/routes.js';
import { TokenRequests } from './oauth/token_request.js';
import { Metrics } from './ops/metrics.js';
import { opsMiddleware } from './ops/routes.js';
import { ResourceServerCatalog } from './resource_servers/catalog.js';
import { ResourceServerService } from './resource_servers/service.js';
import { systemClock, type Clock } from './shared/clock.js';
import { createLogger, type Logger } from './shared/log.js';
import { loadKeySet, type KeySet } from './signing/keystore.js';
import { bootstrapFirstStart, type FirstStart } from './first_start.js';
import { statusListRoutes } from './status/routes.js';
import { StatusLists } from './status/status_list.js';
import { TenancyService } from './tenancy/service.js';
import { TrustedIssuerService } from './federation/service.js';
import { AutoDisable } from './usage/auto_disable.js';
import { catalogRollupKeys, UsageRecorder } from './usage/recorder.js';
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

/**
 * Keygate's composition root: opens the database (and migrates it), wires the
 * services, caches and background loops to it, builds the HTTP app (http/app.ts) on
 * top, and owns the lifecycle: what it starts here, close() stops, in reverse.
 */
export async function startKeygate(config: Config, options: KeygateOptions = {}): Promise<Keygate> {
  const clock = options.clock ?? systemClock;
  const log = options.log ?? createLogger(config.logLevel);
  let keySet = await loadKeySet(config);
  const db = options.database ?? (await openDatabase(config, log));
  const ownsDatabase = options.database === undefined;

  try {
    // The database and what reads it as it changes.
    await db.withoutStatementLimit((knex) => migrateLatest(knex));
    const changes = db.embedded
      ? localChangeFeed()
      : await postgresChangeFeed(db.url, log, { connectTimeoutMs: db.timeouts.connectMs });
    const firstStart = await bootstrapFirstStart(db.knex, config, clock.now());
    const catalog = await ResourceServerCatalog.load(db.knex, changes, log);
    const clients = new ClientCache(db.knex, clock, changes, { maxAgeSeconds: config.clientCacheMaxAgeSeconds, log });
    const statusLists = new StatusLists({ db: db.knex, clock, issuer: config.issuer, alg: config.tokenSigningAlg, ttlSeconds: config.statusListTtlSeconds, keySet: () => keySet });
    changes.subscribe(() => statusLists.invalidate());

    // Services.
    const keypairs = new KeypairService({ db: db.knex, changes, catalog, clock, maxActiveKeypairs: config.maxActiveKeypairs });
    const tenancy = new TenancyService({ db: db.knex, changes, clock, keypairs });
    const resourceServers = new ResourceServerService({ db: db.knex, changes, catalog, clock, grants: grantsAtServer });
    const trustedIssuers = new TrustedIssuerService({ db: db.knex, changes, clock });

    // Background loops (started below): batched writes, shared counts, mail, cleanup.
    const lastUsed = new LastUsedRecorder(db.knex, log);
    const rateLimiter = new RateLimiter(db.knex, log);
    const usage = config.usageLog ? new UsageRecorder(db.knex, catalogRollupKeys(catalog), log) : undefined;
    if (usage) {
      const autoDisable = new AutoDisable({
        db: db.knex,
        keypairs,
        clock,
        log,
        policy: { windowSeconds: config.autoDisableWindowSeconds, minFailures: config.autoDisableMinFailures, failureRatio: config.autoDisableFailureRatio, enabledByDefault: config.autoDisableDefault },
      });
      const retiredSecrets = new RetiredSecretNotices({ db: db.knex, clock, log });
      usage.onFlushed((records) => autoDisable.check(records));
      usage.onFlushed((records) => retiredSecrets.check(records));
    }
    const transport = config.smtpUrl && config.mailFrom ? smtpTransport(config.smtpUrl, config.mailFrom) : logTransport(log);
    const notifications = new NotificationWorker({ db: db.knex, transport, clock, log, issuer: config.issuer });
    const maintenanceDeps = {
      db: db.knex,
      keypairs,
      clock,
      log,
      expiredRetentionDays: config.expiredRetentionDays,
      usageRetentionDays: config.usageRetentionDays,
      expiryWarningDays: config.expiryWarningDays,
      // The usage log's retention, handed in so that keypairs need not import usage.
      deleteUsageBefore: (before: Date) => deleteUsageBefore(db.knex, before),
    };
    const maintenance = new MaintenanceJob(maintenanceDeps);

    // The token endpoint: oidc-provider with Keygate's token request pipeline.
    const metrics = new Metrics(db.knex);
    const requestLog = new RequestLog(metrics, log);
    const replays = new ReplayStore(db.knex, clock);
    const tokenRequests = new TokenRequests({
      clients,
      assertions: new ClientAssertions({ issuer: config.issuer, replays, clock }),
      guards: new TokenGuards(rateLimiter, config.rateLimitPerMinute, clock),
      catalog,
      lastUsed,
      usage,
      metrics,
      clock,
      log,
      issuer: config.issuer,
      trustProxyHops: config.trustProxyHops,
      requestIdOf: (req) => requestLog.idOf(req),
    });
    const makeProvider = () => buildProvider({ config, keySet, catalog, tokenRequests, replays, clock });
    let provider: Provider = makeProvider();
    let providerCallback = provider.callback();

    // The HTTP app.
    const authenticator = new Authenticator(db.knex, config, () => keySet);
    const usageReport = new UsageReport(db.knex, clock, usage);
    const history = new AuditHistory(db.knex);
    const signIn = new ConsoleSignIn({ db: db.knex, issuer: config.issuer, keySet: () => keySet, clock, sessionTtlSeconds: config.consoleSessionTtlSeconds });
    const handle = httpApp({
      requestLog,
      provider: () => providerCallback,
      ops: opsMiddleware({ db: db.knex, changes, keySet: () => keySet, metrics, metricsToken: config.metricsToken }),
      statusLists: statusListRoutes({ statusLists, ttlSeconds: config.statusListTtlSeconds, log }),
      oauth: oauthRoutes({ config, catalog }),
      admin: adminMiddleware({ authenticator, keypairs, tenancy, resourceServers, trustedIssuers, history, usage: usageReport, clock, log, issuer: config.issuer, trustProxyHops: config.trustProxyHops }),
      console: consoleMiddleware({ authenticator, signIn, keypairs, tenancy, resourceServers, catalog, history, usage: usageReport, clock, db: db.knex, log, issuer: config.issuer, trustProxyHops: config.trustProxyHops }),
    });

    // Start. In the background: token requests meanwhile fall back to one query per new keypair.
    const preloading = clients
      .preload()
      .then((loaded) => log.info('client cache preloaded', { keypairs: loaded }))
      .catch((error: Error) => log.warn('client cache preload failed', { error: error.message }));
    lastUsed.start(config.lastUsedFlushSeconds);
    // Only a shared database has other processes to share counts with.
    if (!db.embedded) rateLimiter.start();
    usage?.start(config.lastUsedFlushSeconds);
    notifications.start();
    maintenance.start();

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
