import type { Knex } from 'knex';
import * as initial from '../../migrations/001_initial.js';

interface Migration {
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

/**
 * Migrations are imported, not discovered on disk, so they run the same under tsx,
 * vitest and a build, and the list's order is the order they apply in.
 */
const MIGRATIONS: ReadonlyArray<readonly [string, Migration]> = [['001_initial', initial]];

const source: Knex.MigrationSource<readonly [string, Migration]> = {
  getMigrations: async () => [...MIGRATIONS],
  getMigrationName: ([name]) => name,
  getMigration: async ([, migration]) => migration,
};

const options = { migrationSource: source, tableName: 'knex_migrations' } satisfies Knex.MigratorConfig;

/**
 * knex's own migration lock lives in a table that knex creates first, so processes
 * starting together race on creating it. A session advisory lock, held on one
 * connection for the whole run, serialises them before that. (The embedded PGlite
 * is one backend session behind every connection, so there it excludes nothing; it
 * needs nothing either, having a single process.)
 */
async function underMigrationLock<T>(knex: Knex, run: () => Promise<T>): Promise<T> {
  const lockKey = "hashtext('keygate.migrations')";
  const connection = await knex.client.acquireConnection();
  try {
    await knex.raw(`select pg_advisory_lock(${lockKey})`).connection(connection);
    try {
      return await run();
    } finally {
      await knex.raw(`select pg_advisory_unlock(${lockKey})`).connection(connection);
    }
  } finally {
    await knex.client.releaseConnection(connection);
  }
}

export function migrateLatest(knex: Knex): Promise<string[]> {
  return underMigrationLock(knex, async () => {
    const [, applied] = (await knex.migrate.latest(options)) as [number, string[]];
    return applied;
  });
}

/** Rolls back every migration (the `down` path, which tests exercise). */
export function migrateDownAll(knex: Knex): Promise<string[]> {
  return underMigrationLock(knex, async () => {
    const [, reverted] = (await knex.migrate.rollback(options, true)) as [number, string[]];
    return reverted;
  });
}
