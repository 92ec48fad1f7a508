import knexFactory, { type Knex } from 'knex';
import pg from 'pg';
import { ConfigError, type Config } from '../config/config.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './embedded.js';

// bigint (count(*), sequence values) comes back as a string by default; Keygate wants numbers. (timestamptz already parses to Date.)
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

export interface Database {
  readonly knex: Knex;
  /** The connection string in use (the embedded server's Unix-socket URL, `postgres:///postgres?host=<dir>&port=5432&user=postgres`, when embedded). */
  readonly url: string;
  /** True when this process owns the database (PGlite); false on an external PostgreSQL. */
  readonly embedded: boolean;
  close(): Promise<void>;
}

export function createKnex(url: string, poolMax: number): Knex {
  return knexFactory({
    client: 'pg',
    connection: url,
    pool: { min: 0, max: poolMax },
    acquireConnectionTimeout: 10_000,
  });
}

/** Opens DATABASE_URL, or the embedded database in DATA_DIR, and checks it answers. */
export async function openDatabase(config: Pick<Config, 'databaseUrl' | 'dataDir' | 'databasePoolMax'>): Promise<Database> {
  let embedded: EmbeddedPostgres | undefined;
  let url = config.databaseUrl;
  if (url === undefined) {
    try {
      embedded = await startEmbeddedPostgres(config.dataDir);
    } catch (error) {
      throw new ConfigError('DATA_DIR', `cannot open the embedded database in ${config.dataDir}: ${(error as Error).message}`);
    }
    url = embedded.url;
  }
  // PGlite is one backend session behind every socket connection, and pglite-socket
  // can interleave two connections' extended-protocol messages (one's Bind replacing
  // the other's unnamed portal). One connection makes that impossible and costs
  // nothing: PGlite runs one query at a time anyway.
  const knex = createKnex(url, embedded ? 1 : config.databasePoolMax);
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
    async close() {
      await knex.destroy();
      await embedded?.stop();
    },
  };
}
