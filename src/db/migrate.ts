import type { Knex } from 'knex';
import * as initial from '../../migrations/001_initial.js';
import * as statusList from '../../migrations/002_status_list.js';
import * as usageGuardsOutbox from '../../migrations/003_usage_guards_outbox.js';
import * as consoleSignIn from '../../migrations/004_console.js';
import * as grants from '../../migrations/005_grants.js';
import * as identities from '../../migrations/006_identities.js';
import * as consoleSecretViews from '../../migrations/007_console_secret_views.js';
import * as keylessCredentials from '../../migrations/008_keyless_credentials.js';
import * as usedJtiDigests from '../../migrations/009_used_jti_digests.js';

interface Migration {
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

/**
 * Migrations are imported, not discovered on disk, so they run the same under tsx,
 * vitest and a build, and the list's order is the order they apply in.
 */
const MIGRATIONS: ReadonlyArray<readonly [string, Migration]> = [
  ['001_initial', initial],
  ['002_status_list', statusList],
  ['003_usage_guards_outbox', usageGuardsOutbox],
  ['004_console', consoleSignIn],
  ['005_grants', grants],
  ['006_identities', identities],
  ['007_console_secret_views', consoleSecretViews],
  ['008_keyless_credentials', keylessCredentials],
  ['009_used_jti_digests', usedJtiDigests],
];

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
  // The lock's connection is a raw one outside the pool, so a pool of one connection
  // (the embedded database's) is left free for the migrations themselves.
  const client = knex.client as { acquireRawConnection(): Promise<PgConnection>; destroyRawConnection(connection: PgConnection): Promise<void> };
  const connection = await client.acquireRawConnection();
  try {
    await connection.query("select pg_advisory_lock(hashtext('keygate.migrations'))");
    return await run();
  } finally {
    await connection.query("select pg_advisory_unlock(hashtext('keygate.migrations'))").catch(() => undefined);
    await client.destroyRawConnection(connection);
  }
}

interface PgConnection {
  query(sql: string): Promise<unknown>;
}

export function migrateLatest(knex: Knex, { lock = true } = {}): Promise<string[]> {
  const run = async () => {
    const [, applied] = (await knex.migrate.latest(options)) as [number, string[]];
    return applied;
  };
  return lock ? underMigrationLock(knex, run) : run();
}

/** Applies the next pending migration alone, or reverts the last one (tests step through data migrations). */
export async function migrateOne(knex: Knex, direction: 'up' | 'down'): Promise<string[]> {
  const [, names] = (await (direction === 'up' ? knex.migrate.up(options) : knex.migrate.down(options))) as [number, string[]];
  return names;
}

/** Rolls back every migration (the `down` path, which tests exercise). */
export function migrateDownAll(knex: Knex, { lock = true } = {}): Promise<string[]> {
  const run = async () => {
    const [, reverted] = (await knex.migrate.rollback(options, true)) as [number, string[]];
    return reverted;
  };
  return lock ? underMigrationLock(knex, run) : run();
}
