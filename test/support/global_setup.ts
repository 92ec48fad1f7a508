import { execFileSync } from 'node:child_process';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import knexFactory from 'knex';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../src/db/embedded.js';
import { migrateLatest } from '../../src/db/migrate.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Indexed by the worker's VITEST_POOL_ID - 1 (see testDatabaseUrl in keygate.ts). */
    databaseUrls: string[];
  }
}

const embedded: EmbeddedPostgres[] = [];

/**
 * The run's databases: TEST_DATABASE_URL (a real PostgreSQL, wiped first), shared by
 * every worker, or one in-memory PGlite per worker, each served on a Unix socket by its
 * own thread. A PGlite takes one file at a time: pglite-socket can interleave two
 * connections' protocol messages (see src/db/database.ts), so two files running at once
 * get a PGlite each. Test files isolate their data by creating their own accounts,
 * environments and resource servers.
 */
export async function setup(project: TestProject): Promise<void> {
  // The CLI tests run bin/keygate.js, the compiled CLI users run: built from the current
  // sources here, once, before any file starts (a no-op when dist/ is newer than them).
  execFileSync(process.execPath, [path.resolve(import.meta.dirname, '../../scripts/build-if-stale.mjs')], { stdio: 'inherit' });
  const serverUrl = process.env.TEST_DATABASE_URL;
  let urls: string[];
  if (serverUrl) {
    const knex = knexFactory({ client: 'pg', connection: serverUrl });
    await knex.raw('drop schema public cascade; create schema public');
    await knex.destroy();
    urls = [serverUrl];
  } else {
    const workers = Number(project.config.maxWorkers) || 1;
    // Every Keygate a test file starts opens its own pool on its worker's server: allow plenty.
    embedded.push(...(await Promise.all(Array.from({ length: workers }, () => startEmbeddedPostgres(undefined, 200)))));
    urls = embedded.map((database) => database.url);
  }
  // Migrate once before the files start: on PGlite every connection is the same
  // backend session, so the advisory lock that serialises processes on PostgreSQL
  // cannot serialise test files sharing one PGlite.
  for (const url of urls) {
    const knex = knexFactory({ client: 'pg', connection: url });
    await migrateLatest(knex);
    await knex.destroy();
  }
  project.provide('databaseUrls', urls);
}

export async function teardown(): Promise<void> {
  await Promise.all(embedded.map((database) => database.stop()));
}
