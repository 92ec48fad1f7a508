import knexFactory, { type Knex } from 'knex';
import pg from 'pg';
import { ConfigError, type Config } from '../config/config.js';
import { createLogger, type Logger } from '../shared/log.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './embedded.js';

// Decided in errors.ts with the rest of what a database failure means; here for the callers that open the database.
export { DATABASE_RETRY_AFTER_SECONDS, isDatabaseUnavailable } from './errors.js';

// bigint (count(*), sequence values) comes back as a string by default; Keygate wants numbers. (timestamptz already parses to Date.)
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

export interface Database {
  readonly knex: Knex;
  /** The connection string in use (the embedded server's Unix-socket URL, `postgres:///postgres?host=<dir>&port=5432&user=postgres`, when embedded). */
  readonly url: string;
  /** True when this process owns the database (PGlite); false on an external PostgreSQL. */
  readonly embedded: boolean;
  /** The limits the pool applies (DATABASE_CONNECT_TIMEOUT, DATABASE_STATEMENT_TIMEOUT). */
  readonly timeouts: DatabaseTimeouts;
  /**
   * Runs `work` (migrations) on a connection without DATABASE_STATEMENT_TIMEOUT: a
   * migration may rewrite every keypair, or wait behind live traffic for a table lock,
   * far longer than a request should. A one-connection pool beside the main one,
   * closed afterwards; the main pool itself where there is no limit (embedded).
   */
  withoutStatementLimit<T>(work: (knex: Knex) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** How long a request waits for the database before it answers 503. */
export interface DatabaseTimeouts {
  /** Opening a connection, or waiting for a free one in the pool (ms). */
  readonly connectMs: number;
  /** One statement (ms); 0: no limit. */
  readonly statementMs: number;
}

/** The parts of a pg client the pool's hooks touch. */
interface PooledConnection {
  readonly readyForQuery?: boolean;
  readonly connectionParameters: { query_timeout?: number };
  query(sql: string): Promise<unknown>;
}

/** The embedded database runs on this process's own thread: nothing to time out but a busy pool. */
const EMBEDDED_TIMEOUTS: DatabaseTimeouts = { connectMs: 10_000, statementMs: 0 };

/** knex's own warnings (pool, deprecations) as Keygate's JSON log lines, not console text. */
function knexLog(log: Logger): Knex.Config['log'] {
  // The first line only: knex appends stack traces to some messages.
  const text = (message: unknown) => (typeof message === 'string' ? message : ((message as Error)?.message ?? String(message))).split('\n', 1)[0];
  const line = (level: 'debug' | 'warn' | 'error') => (message: unknown) => log[level]('knex', { detail: text(message) });
  return { debug: line('debug'), warn: line('warn'), error: line('error'), deprecate: (method: string, alternative: string) => log.warn('knex deprecation', { detail: `${method} is deprecated, use ${alternative}` }) };
}

export function createKnex(url: string, poolMax: number, timeouts: DatabaseTimeouts = EMBEDDED_TIMEOUTS, log?: Logger): Knex {
  return knexFactory({
    client: 'pg',
    connection: {
      connectionString: url,
      // Operators (and tests) find a process's connections in pg_stat_activity by it.
      application_name: `keygate ${process.pid}`,
      connectionTimeoutMillis: timeouts.connectMs,
    },
    pool: {
      min: 0,
      max: poolMax,
      // Pooled connections only: the migration lock's own connection may wait longer.
      // Both sides: PostgreSQL cancels a slow statement itself (statement_timeout);
      // pg gives up on a server that does not answer at all (query_timeout).
      afterCreate: (connection: PooledConnection, done: (error: Error | null, connection: PooledConnection) => void) => {
        if (timeouts.statementMs === 0) return done(null, connection);
        connection.connectionParameters.query_timeout = timeouts.statementMs;
        connection.query(`set statement_timeout = ${Math.floor(timeouts.statementMs)}`).then(() => done(null, connection), (error: Error) => done(error, connection));
      },
      // A connection whose statement timed out on our side still has it outstanding:
      // it is closed rather than handed to the next request.
      validate: (connection: PooledConnection) => connection.readyForQuery !== false,
    },
    acquireConnectionTimeout: timeouts.connectMs,
    ...(log && { log: knexLog(log) }),
  });
}

/** Opens DATABASE_URL, or the embedded database in DATA_DIR, and checks it answers. */
export async function openDatabase(
  config: Pick<Config, 'databaseUrl' | 'dataDir' | 'databasePoolMax'> & Partial<Pick<Config, 'databaseConnectTimeoutSeconds' | 'databaseStatementTimeoutSeconds' | 'logLevel'>>,
  log: Logger = createLogger(config.logLevel ?? 'info'),
): Promise<Database> {
  let embedded: EmbeddedPostgres | undefined;
  let url = config.databaseUrl;
  if (url === undefined) {
    try {
      embedded = await startEmbeddedPostgres(config.dataDir, undefined, log);
    } catch (error) {
      throw new ConfigError('DATA_DIR', `cannot open the embedded database in ${config.dataDir}: ${(error as Error).message}`);
    }
    url = embedded.url;
  }
  // PGlite is one backend session behind every socket connection, and pglite-socket
  // can interleave two connections' extended-protocol messages (one's Bind replacing
  // the other's unnamed portal). One connection makes that impossible and costs
  // nothing: PGlite runs one query at a time anyway.
  const timeouts = embedded
    ? EMBEDDED_TIMEOUTS
    : { connectMs: (config.databaseConnectTimeoutSeconds ?? 2) * 1000, statementMs: (config.databaseStatementTimeoutSeconds ?? 2) * 1000 };
  const knex = createKnex(url, embedded ? 1 : config.databasePoolMax, timeouts, log);
  try {
    await knex.raw('select 1');
  } catch (error) {
    await knex.destroy();
    await embedded?.stop();
    throw new ConfigError('DATABASE_URL', `cannot connect: ${(error as Error).message}`);
  }
  return {
    knex,
    url,
    embedded: embedded !== undefined,
    timeouts,
    async withoutStatementLimit(work) {
      if (timeouts.statementMs === 0) return work(knex);
      const unlimited = createKnex(url, 1, { ...timeouts, statementMs: 0 }, log);
      try {
        return await work(unlimited);
      } finally {
        await unlimited.destroy();
      }
    },
    async close() {
      await knex.destroy();
      await embedded?.stop();
    },
  };
}
