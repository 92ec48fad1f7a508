import cluster from 'node:cluster';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import net from 'node:net';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, type Config } from '../config/config.js';
import { mintConsoleLink } from '../console/sign_in.js';
import { openDatabase } from '../db/database.js';
import { migrateDownAll, migrateLatest } from '../db/migrate.js';
import { localChangeFeed, postgresChangeFeed } from '../db/notify.js';
import { runCleanup } from '../keypairs/maintenance.js';
import { KeypairService } from '../keypairs/service.js';
import { ResourceServerCatalog } from '../resource_servers/catalog.js';
import { systemClock } from '../shared/clock.js';
import { createLogger } from '../shared/log.js';
import { ADMIN_TOKEN_TTL_SECONDS, mintAdminToken } from '../signing/admin_token.js';
import { CliError } from './admin.js';
import { ADMIN_GROUPS, runAdminCommand } from './admin_commands.js';
import { KEY_ACTIVATION_DELAY_SECONDS, loadKeySet, MAX_TOKEN_TTL_SECONDS, retireKeys, rotateKeys } from '../signing/keystore.js';
import { deleteUsageBefore } from '../usage/store.js';

const USAGE = `keygate: OAuth 2.0 client-credentials server for machine clients

Usage:
  keygate serve                          run the server (the default command)
  keygate migrate [--down]               apply migrations (or roll all of them back)
  keygate cleanup [--json]               delete keypairs expired over EXPIRED_RETENTION_DAYS ago (audited),
                                         retired secrets as old, usage over USAGE_RETENTION_DAYS old
                                         (the server also runs this daily)
  keygate keys list                      list the signing keys
  keygate keys rotate [--activate-in S]  add a signing key, published at once and signing S seconds
                                         later (default ${KEY_ACTIVATION_DELAY_SECONDS}); the old ones stay published
  keygate keys retire [--max-token-ttl S]
                                         drop keys that stopped signing over S seconds ago
                                         (default ${MAX_TOKEN_TTL_SECONDS}, the longest token lifetime)
  keygate admin-token --operator | --email E [--ttl S]
                                         print an admin JWT for the admin API (default ${ADMIN_TOKEN_TTL_SECONDS} s)
  keygate console-link --operator | --email E
                                         print a one-time sign-in link to the admin console (valid 10 minutes)

Admin commands (call the running server's admin API; add --json for scripts):
  keygate keypairs create --name N [--scopes "read write"] [--grant URI=scope,scope ...] [--comment C]
                          [--expires 1d|7d|30d|90d|SECONDS|2027-01-31|2027-01-31T12:00:00Z]
                          [--environment ID | --account ID]   (default: your only environment)
                          [--rate-limit 60-1000|default] [--allowed-ips "203.0.113.0/24 2001:db8::/32"]
                          [--auto-disable true|false|default]
  keygate keypairs list [--environment ID | --account ID] [--enabled true|false] [--q TEXT] [--limit N] [--cursor C]
  keygate keypairs show|delete ID               keygate keypairs events ID [--limit N] [--cursor C]
  keygate keypairs disable ID [--reason R]      keygate keypairs enable ID
  keygate keypairs update ID [--name N] [--comment C] [--scopes S] [--grant URI=scope,scope ...] [--rate-limit ...] [--allowed-ips ...] [--auto-disable ...]
                          --scopes: the default resource server's grant; --grant: one per resource server
                          (update: --grant replaces every grant, --scopes alone only the default server's)
  keygate keypairs usage ID                     totals, refusals by reason, where from, the last 20 requests
  keygate keypairs rotate ID [--grace SECONDS]  (default 0: the old secret dies at once)
  keygate accounts list|create --name N|show ID|close ID
  keygate environments list --account ID|create --account ID --name N|close ID
  keygate resource-servers list|create --identifier URI --name N --scopes S [--ttl SECONDS] [--available-to ACC,ACC]
  keygate users list|create --email E [--name N] [--operator]
  keygate admins grant|revoke --user ID (--account ID | --environment ID)
  Server: --url or KEYGATE_URL (default ISSUER). Token: --token or KEYGATE_TOKEN
  (default: an operator token signed with the keys in KEYS_FILE).

Configuration comes from the environment; see README.md.`;

class UsageError extends Error {}

async function serve(config: Config): Promise<void> {
  // Imported here so the admin commands do not load oidc-provider (and its Node 20 warning).
  const { startKeygate } = await import('../app.js');
  const keygate = await startKeygate(config);
  const server = createServer(keygate.callback());
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(error.code === 'EADDRINUSE' ? new ConfigError('PORT', `port ${config.port} is already in use`) : error);
    });
    server.listen(config.port, resolve);
  });

  const out = (line = '') => process.stdout.write(`${line}\n`);
  out(`Keygate listening on ${config.issuer} (${keygate.db.embedded ? `embedded database in ${config.dataDir}` : 'PostgreSQL'})`);
  out(`  discovery  ${config.issuer}/.well-known/oauth-authorization-server`);
  out(`  token      ${config.issuer}/token`);
  out(`  jwks       ${config.issuer}/jwks`);
  if (keygate.firstStart) {
    const first = keygate.firstStart;
    out();
    out('First start: created');
    out(`  operator user         ${first.operatorEmail}`);
    out(`  account               ${first.accountId} (Default account)`);
    out(`  environment           ${first.environmentId} (development)`);
    out(`  default resource      ${first.resourceIdentifier} (scopes: ${config.defaultScopes.join(' ')})`);
    out();
    out('Next, in another shell:');
    out('  npx keygate console-link --operator          a sign-in link to the admin console (/console)');
    out('  npx keygate keypairs create --name demo --scopes read');
    out('  npx keygate admin-token --operator           an admin token for /admin/v1');
  }

  let stopping = false;
  // Responses not yet begun: at SIGTERM they are told to close their connection too.
  const unanswered = new Set<ServerResponse>();
  server.prependListener('request', (_req: IncomingMessage, res: ServerResponse) => {
    if (stopping) res.shouldKeepAlive = false;
    unanswered.add(res);
    res.once('close', () => unanswered.delete(res));
  });
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    out(`${signal}: shutting down (waiting up to ${config.shutdownTimeoutSeconds} s for requests in flight)`);
    // Every response from here on says `Connection: close` and ends its connection, so
    // keep-alive clients leave after their current request instead of being cut.
    for (const res of unanswered) if (!res.headersSent) res.shouldKeepAlive = false;
    // Stop accepting. net.Server's close, not http.Server's: that one also drops idle
    // keep-alive connections at once, and a request already sent on one (not yet read)
    // would be cut. An idle connection gets `Connection: close` on its next request,
    // or ends at its keep-alive timeout; the process exits when the last one has closed.
    const closed = new Promise<void>((resolve) => net.Server.prototype.close.call(server, () => resolve()));
    const force = setTimeout(() => server.closeAllConnections(), config.shutdownTimeoutSeconds * 1000);
    force.unref();
    closed
      .then(() => keygate.close())
      .then(() => process.exit(0))
      .catch((error: Error) => {
        process.stderr.write(`keygate: shutdown failed: ${error.message}\n`);
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => {
    keygate
      .reloadKeys()
      .then(() => out(`SIGHUP: signing keys reloaded (${keygate.keySet().keys.length} published)`))
      .catch((error: Error) => process.stderr.write(`keygate: key reload failed, keeping the old keys: ${error.message}\n`));
  });
}

/** Re-forks after workers die unasked back off: 1 s, doubling up to 30 s... */
const REFORK_FIRST_DELAY_MS = 1000;
const REFORK_MAX_DELAY_MS = 30_000;
/** ...until a worker stays up this long, which starts the count again (ms). */
const WORKER_STABLE_MS = 30_000;

/**
 * WORKERS > 1: this process forks the workers, which share the port (node:cluster),
 * passes SIGTERM/SIGINT/SIGHUP on, and replaces a worker that dies unasked. Workers
 * that keep dying (PostgreSQL down, say) are replaced ever more slowly rather than
 * in a tight loop.
 */
function supervise(config: Config): Promise<void> {
  let stopping = false;
  let quickExits = 0;
  const startedAt = new Map<number, number>();
  const pending = new Set<NodeJS.Timeout>();
  const fork = () => {
    const worker = cluster.fork();
    startedAt.set(worker.id, Date.now());
  };
  for (let i = 0; i < config.workers; i += 1) fork();
  cluster.on('exit', (worker, code) => {
    const ranMs = Date.now() - (startedAt.get(worker.id) ?? Date.now());
    startedAt.delete(worker.id);
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      return;
    }
    quickExits = ranMs >= WORKER_STABLE_MS ? 0 : quickExits + 1;
    const delay = quickExits === 0 ? 0 : Math.min(REFORK_MAX_DELAY_MS, REFORK_FIRST_DELAY_MS * 2 ** (quickExits - 1));
    process.stderr.write(`keygate: worker ${worker.process.pid} exited with ${code} after ${(ranMs / 1000).toFixed(1)} s; starting another in ${delay / 1000} s\n`);
    const timer = setTimeout(() => {
      pending.delete(timer);
      if (!stopping) fork();
    }, delay);
    pending.add(timer);
  });
  const forward = (signal: NodeJS.Signals) => {
    if (signal !== 'SIGHUP') {
      stopping = true;
      for (const timer of pending) clearTimeout(timer);
      pending.clear();
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
    }
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill(signal);
  };
  process.on('SIGTERM', () => forward('SIGTERM'));
  process.on('SIGINT', () => forward('SIGINT'));
  process.on('SIGHUP', () => forward('SIGHUP'));
  process.stdout.write(`Keygate: ${config.workers} workers on port ${config.port}\n`);
  return new Promise(() => undefined);
}

async function migrate(config: Config, down: boolean): Promise<void> {
  const db = await openDatabase(config);
  try {
    const names = await db.withoutStatementLimit((knex) => (down ? migrateDownAll(knex) : migrateLatest(knex)));
    process.stdout.write(names.length ? `${down ? 'rolled back' : 'applied'}: ${names.join(', ')}\n` : 'nothing to do\n');
  } finally {
    await db.close();
  }
}

/** `keygate cleanup`: the daily job's cleanup, now, against the configured database. */
async function cleanup(config: Config, json: boolean): Promise<void> {
  const db = await openDatabase(config);
  const log = createLogger(config.logLevel);
  try {
    await db.withoutStatementLimit((knex) => migrateLatest(knex));
    // Running servers drop deleted keypairs from their caches through the change feed.
    const changes = db.embedded ? localChangeFeed() : await postgresChangeFeed(db.url, log, { connectTimeoutMs: db.timeouts.connectMs });
    try {
      const catalog = await ResourceServerCatalog.load(db.knex, changes);
      const keypairs = new KeypairService({ db: db.knex, changes, catalog, clock: systemClock, maxActiveKeypairs: config.maxActiveKeypairs });
      const report = await runCleanup({ db: db.knex, keypairs, clock: systemClock, log, expiredRetentionDays: config.expiredRetentionDays, usageRetentionDays: config.usageRetentionDays, expiryWarningDays: config.expiryWarningDays, deleteUsageBefore: (before) => deleteUsageBefore(db.knex, before) });
      process.stdout.write(
        json
          ? `${JSON.stringify(report)}\n`
          : `deleted ${report.expiredKeypairs} keypairs expired more than ${config.expiredRetentionDays} days ago, ${report.retiredSecrets} retired secrets, ${report.usageRecords} usage records older than ${config.usageRetentionDays} days and ${report.notifications} settled notifications\n`,
      );
    } finally {
      await changes.close();
    }
  } finally {
    await db.close();
  }
}

async function keys(config: Config, action: string | undefined, maxTokenTtl: number, activateIn: number): Promise<void> {
  if (action === 'list') {
    const keySet = await loadKeySet(config);
    for (const key of keySet.keys) {
      const signsFrom = new Date((key.signs_from ?? key.created_at) * 1000).toISOString();
      process.stdout.write(`${key.kid}  ${key.alg}  added ${new Date(key.created_at * 1000).toISOString()}  signs from ${signsFrom}\n`);
    }
  } else if (action === 'rotate') {
    const added = await rotateKeys(config, activateIn);
    const signsFrom = new Date((added.signs_from ?? added.created_at) * 1000).toISOString();
    process.stdout.write(`added ${added.alg} key ${added.kid}; published after the server restarts or gets SIGHUP, signing from ${signsFrom}. Old keys stay published.\n`);
  } else if (action === 'retire') {
    const retired = await retireKeys(config, maxTokenTtl);
    process.stdout.write(retired.length ? `retired: ${retired.map((key) => key.kid).join(', ')}\n` : 'no key is old enough to retire\n');
  } else {
    throw new UsageError('keys takes list, rotate or retire');
  }
}

function wholeNumber(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw)) throw new UsageError(`${name} takes a whole number of seconds`);
  return Number(raw);
}

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      down: { type: 'boolean' },
      operator: { type: 'boolean' },
      email: { type: 'string' },
      ttl: { type: 'string' },
      json: { type: 'boolean' },
      url: { type: 'string' },
      token: { type: 'string' },
      name: { type: 'string' },
      comment: { type: 'string' },
      scopes: { type: 'string' },
      grant: { type: 'string', multiple: true },
      expires: { type: 'string' },
      environment: { type: 'string' },
      account: { type: 'string' },
      enabled: { type: 'string' },
      q: { type: 'string' },
      limit: { type: 'string' },
      cursor: { type: 'string' },
      reason: { type: 'string' },
      grace: { type: 'string' },
      identifier: { type: 'string' },
      'available-to': { type: 'string' },
      user: { type: 'string' },
      'max-token-ttl': { type: 'string' },
      'activate-in': { type: 'string' },
      'rate-limit': { type: 'string' },
      'allowed-ips': { type: 'string' },
      'auto-disable': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command = 'serve', subcommand, target] = positionals;
  if (values.help || command === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const config = loadConfig();
  switch (command) {
    case 'serve':
      return config.workers > 1 && cluster.isPrimary ? supervise(config) : serve(config);
    case 'migrate':
      return migrate(config, values.down ?? false);
    case 'cleanup':
      return cleanup(config, values.json ?? false);
    case 'keys':
      return keys(config, subcommand, wholeNumber('--max-token-ttl', values['max-token-ttl'], MAX_TOKEN_TTL_SECONDS), wholeNumber('--activate-in', values['activate-in'], KEY_ACTIVATION_DELAY_SECONDS));
    case 'admin-token': {
      if (values.operator === (values.email !== undefined)) throw new UsageError('admin-token takes --operator or --email E');
      // The server refuses admin tokens living longer than ADMIN_TOKEN_MAX_LIFETIME.
      const longest = Math.min(43_200, config.adminTokenMaxLifetimeSeconds);
      const ttl = wholeNumber('--ttl', values.ttl, Math.min(ADMIN_TOKEN_TTL_SECONDS, longest));
      if (ttl < 1 || ttl > longest) throw new UsageError(`--ttl must be 1 to ${longest} seconds`);
      const token = await mintAdminToken(config, await loadKeySet(config), values.email ?? config.operatorEmail, ttl);
      process.stdout.write(`${token}\n`);
      return;
    }
    case 'console-link': {
      if (values.operator === (values.email !== undefined)) throw new UsageError('console-link takes --operator or --email E');
      const link = await mintConsoleLink(config, await loadKeySet(config), values.email ?? config.operatorEmail);
      process.stdout.write(`${link}\nOpen it in a browser within 10 minutes; it signs in once.\n`);
      return;
    }
    default:
      if (ADMIN_GROUPS.has(command)) return runAdminCommand(config, command, subcommand, target, values);
      throw new UsageError(`unknown command "${command}"`);
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  // One line, no stack: the operator needs to know which setting to fix.
  if (error instanceof ConfigError) {
    process.stderr.write(`keygate: ${error.message}\n`);
  } else if (error instanceof CliError) {
    process.stderr.write(`keygate: ${error.message}\n`);
  } else if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    process.stderr.write(`keygate: ${(error as Error).message}\n\n${USAGE}\n`);
  } else {
    process.stderr.write(`keygate: ${(error as Error).message ?? String(error)}\n`);
    if (process.env.LOG_LEVEL === 'debug') process.stderr.write(`${(error as Error).stack}\n`);
  }
  process.exit(1);
});
