import type { TestProject } from 'vitest/node';
import knexFactory from 'knex';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../src/db/embedded.js';
import { migrateLatest } from '../../src/db/migrate.js';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
  }
}

let embedded: EmbeddedPostgres | undefined;

/**
 * One database for the whole run: TEST_DATABASE_URL (a real PostgreSQL, wiped
 * first) or an in-memory PGlite served on a Unix socket. Test files isolate their data
 * by creating their own accounts, environments and resource servers.
 */
export async function setup(project: TestProject): Promise<void> {
  let url = process.env.TEST_DATABASE_URL;
  if (url) {
    const knex = knexFactory({ client: 'pg', connection: url });
    await knex.raw('drop schema public cascade; create schema public');
    await knex.destroy();
  } else {
    // Every test file's Keygate opens its own pool on this one server: allow plenty.
    embedded = await startEmbeddedPostgres(undefined, 200);
    url = embedded.url;
  }
  // Migrate once before the files start: on PGlite every connection is the same
  // backend session, so the advisory lock that serialises processes on PostgreSQL
  // cannot serialise test files sharing one PGlite.
  const knex = knexFactory({ client: 'pg', connection: url });
  await migrateLatest(knex);
  await knex.destroy();
  project.provide('databaseUrl', url);
}

export async function teardown(): Promise<void> {
  await embedded?.stop();
}
