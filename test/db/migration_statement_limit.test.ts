import knexFactory from 'knex';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { migrateLatest, migrateOne } from '../../src/db/migrate.js';
import { ownDatabase, startTestKeygate, type TestKeygate } from '../support/keygate.js';
import { waitFor } from '../support/wait.js';

// DATABASE_STATEMENT_TIMEOUT applies to DATABASE_URL only: runs in the PostgreSQL pass of CI.
const databaseUrl = process.env.TEST_DATABASE_URL;

describe.runIf(databaseUrl)('migrations and DATABASE_STATEMENT_TIMEOUT', () => {
  let started: TestKeygate | undefined;
  let database: Awaited<ReturnType<typeof ownDatabase>> | undefined;

  afterAll(async () => {
    await started?.close();
    await database?.drop();
  });

  it('a migration that waits longer than the statement limit still applies at start', async () => {
    database = await ownDatabase('migration_limit');
    const url = database.env.DATABASE_URL!;
    const setup = knexFactory({ client: 'pg', connection: url });
    await migrateLatest(setup);
    const [pending] = await migrateOne(setup, 'down');
    await setup.destroy();

    // Another session holds knex's migration lock row, as a second process mid-migration
    // would: the starting server's migration waits for it past the 1 s statement limit.
    const holder = new pg.Client({ connectionString: url });
    await holder.connect();
    // Dropped with the database when the test fails midway: nothing to report then.
    holder.on('error', () => undefined);
    await holder.query('begin');
    await holder.query('select * from knex_migrations_lock for update');
    // Released once PostgreSQL shows the server's migration blocked on that lock for longer
    // than the limit. Asked on a connection of its own: inside the holder's transaction,
    // pg_stat_activity would stay the snapshot of its first read.
    const observer = new pg.Client({ connectionString: url });
    await observer.connect();
    observer.on('error', () => undefined);
    const blockedPastLimit = async () => {
      const { rows } = await observer.query<{ blocked: number }>(
        "select count(*)::int as blocked from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and now() - query_start > interval '1.5 seconds'",
      );
      return rows[0]!.blocked > 0;
    };

    let settled = false;
    const starting = startTestKeygate({ DATABASE_URL: url, DATABASE_STATEMENT_TIMEOUT: '1' }).finally(() => (settled = true));
    // A start that fails (or ends) before the release is reported below, by `await starting`.
    starting.catch(() => undefined);
    let sawBlockedPastLimit = false;
    await waitFor(async () => (sawBlockedPastLimit = await blockedPastLimit()) || settled, { timeoutMs: 60_000, intervalMs: 100 });
    await holder.query('commit');
    await holder.end();
    await observer.end();
    started = await starting;

    expect(sawBlockedPastLimit).toBe(true);
    const applied = await started.keygate.db.knex('knex_migrations').pluck('name');
    expect(applied).toContain(pending);
    // The server's own pool keeps the limit.
    const { rows } = await started.keygate.db.knex.raw<{ rows: Array<{ statement_timeout: string }> }>('show statement_timeout');
    expect(rows[0]!.statement_timeout).toBe('1s');
  });
});
