import cluster from 'node:cluster';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import net from 'node:net';
import { ConfigError, type Config } from '../../config/config.js';
import { createLogger, type Logger } from '../../shared/log.js';
import { removeServerFile, writeServerFile } from '../local_server.js';
import { defineCommand } from '../options.js';

/**
 * DATA_DIR/server.json, in both database modes: DATA_DIR always resolves, and with
 * DATABASE_URL it still tells a CLI on this machine where the server listens. A server
 * that cannot write it still serves; the CLI then needs KEYGATE_URL.
 */
async function recordServer(config: Config, log: Logger): Promise<void> {
  try {
    await writeServerFile(config);
  } catch (error) {
    log.warn('cannot record the server URL for the CLI; it needs KEYGATE_URL or --url', { file: `${config.dataDir}/server.json`, detail: (error as Error).message });
  }
}

/** At a clean shutdown: a CLI started later must not take a stopped server for a running one. */
const forgetServer = (config: Config) => removeServerFile(config).catch(() => undefined);

async function runServer(config: Config): Promise<void> {
  // Imported here so the admin commands do not load oidc-provider (and its Node 20 warning).
  const { startKeygate } = await import('../../app.js');
  const keygate = await startKeygate(config);
  const server = createServer(keygate.callback());
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(error.code === 'EADDRINUSE' ? new ConfigError('PORT', `port ${config.port} is already in use`) : error);
    });
    server.listen(config.port, resolve);
  });

  const log = createLogger(config.logLevel);
  // A worker's pid is not the one to record: the supervisor records its own.
  if (cluster.isPrimary) await recordServer(config, log);

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
    const forgotten = cluster.isPrimary ? forgetServer(config) : Promise.resolve();
    closed
      .then(() => keygate.close())
      .then(() => forgotten)
      .then(() => process.exit(0))
      .catch((error: Error) => {
        process.stderr.write(`keygate: shutdown failed: ${error.message}\n`);
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // A JSON line like every other log line, so log collectors parse it.
  process.on('SIGHUP', () => {
    keygate
      .reloadKeys()
      .then(() => log.info('signing keys reloaded', { signal: 'SIGHUP', published: keygate.keySet().keys.length }))
      .catch((error: Error) => log.error('signing key reload failed, keeping the old keys', { signal: 'SIGHUP', detail: error.message }));
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
  let forgotten: Promise<void> = Promise.resolve();
  const exitWhenForgotten = () => void forgotten.then(() => process.exit(0));
  for (let i = 0; i < config.workers; i += 1) fork();
  // The port is served once any worker listens.
  cluster.once('listening', () => void recordServer(config, createLogger(config.logLevel)));
  cluster.on('exit', (worker, code) => {
    const ranMs = Date.now() - (startedAt.get(worker.id) ?? Date.now());
    startedAt.delete(worker.id);
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) exitWhenForgotten();
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
      if (!stopping) forgotten = forgetServer(config);
      stopping = true;
      for (const timer of pending) clearTimeout(timer);
      pending.clear();
      if (Object.keys(cluster.workers ?? {}).length === 0) exitWhenForgotten();
    }
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill(signal);
  };
  process.on('SIGTERM', () => forward('SIGTERM'));
  process.on('SIGINT', () => forward('SIGINT'));
  process.on('SIGHUP', () => forward('SIGHUP'));
  process.stdout.write(`Keygate: ${config.workers} workers on port ${config.port}\n`);
  return new Promise(() => undefined);
}

/** `keygate serve`: the server, or with WORKERS > 1 the supervisor of its workers. */
export const serve = defineCommand({
  name: 'serve',
  flags: {},
  run: (config) => (config.workers > 1 && cluster.isPrimary ? supervise(config) : runServer(config)),
});
