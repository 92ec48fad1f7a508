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

export async function migrateLatest(knex: Knex): Promise<string[]> {
  const [, applied] = (await knex.migrate.latest(options)) as [number, string[]];
  return applied;
}

/** Rolls back every migration (the `down` path, which tests exercise). */
export async function migrateDownAll(knex: Knex): Promise<string[]> {
  const [, reverted] = (await knex.migrate.rollback(options, true)) as [number, string[]];
  return reverted;
}
