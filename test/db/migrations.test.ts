import knexFactory, { type Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../src/db/embedded.js';
import { migrateDownAll, migrateLatest } from '../../src/db/migrate.js';
import { newId } from '../../src/shared/ids.js';

const TABLES = ['accounts', 'audit_events', 'console_link_uses', 'console_sessions', 'environments', 'keypair_secrets', 'keypairs', 'memberships', 'notification_outbox', 'rate_limit_windows', 'resource_servers', 'usage_events', 'usage_hourly', 'user_identities', 'users'];

let embedded: EmbeddedPostgres | undefined;
let knex: Knex;
let dropDatabase: (() => Promise<void>) | undefined;

/** A database of its own: a fresh in-memory PGlite, or a new database on TEST_DATABASE_URL's server. */
beforeAll(async () => {
  const serverUrl = process.env.TEST_DATABASE_URL;
  if (serverUrl) {
    const name = `keygate_migrations_${process.pid}`;
    const admin = knexFactory({ client: 'pg', connection: serverUrl });
    await admin.raw(`drop database if exists ${name}`);
    await admin.raw(`create database ${name}`);
    const url = new URL(serverUrl);
    url.pathname = `/${name}`;
    knex = knexFactory({ client: 'pg', connection: url.toString() });
    dropDatabase = async () => {
      await admin.raw(`drop database if exists ${name}`);
      await admin.destroy();
    };
  } else {
    embedded = await startEmbeddedPostgres(undefined);
    knex = knexFactory({ client: 'pg', connection: embedded.url });
  }
});

afterAll(async () => {
  await knex.destroy();
  await dropDatabase?.();
  await embedded?.stop();
});

async function tables(): Promise<string[]> {
  const result = await knex.raw<{ rows: Array<{ table_name: string }> }>(
    "select table_name from information_schema.tables where table_schema = current_schema() and table_name not like 'knex_%' order by table_name",
  );
  return result.rows.map((row) => row.table_name);
}

describe('migrations', () => {
  it('create the whole data model, with comments on every table', async () => {
    expect(await migrateLatest(knex)).toEqual(['001_initial', '002_status_list', '003_usage_guards_outbox', '004_console', '006_identities']);
    expect(await tables()).toEqual(TABLES);
    const comments = await knex.raw<{ rows: Array<{ relname: string; comment: string | null }> }>(
      "select c.relname, obj_description(c.oid, 'pg_class') as comment from pg_class c where c.relkind = 'r' and c.relname = any(?)",
      [TABLES],
    );
    for (const row of comments.rows) expect(row.comment, row.relname).toBeTruthy();
    expect(await migrateLatest(knex)).toEqual([]);
  });

  it('keep audit events append-only', async () => {
    const id = newId('event');
    await knex('audit_events').insert({ id, actor_type: 'system', action: 'test.happened', target_type: 'test', target_id: 'x' });
    await expect(knex('audit_events').where({ id }).update({ action: 'test.rewritten' })).rejects.toThrow('append-only');
    await expect(knex('audit_events').where({ id }).delete()).rejects.toThrow('append-only');
    expect(await knex('audit_events').where({ id }).first()).toMatchObject({ action: 'test.happened' });
  });

  it('enforce the constraints the token path relies on', async () => {
    const accountId = newId('account');
    await knex('accounts').insert({ id: accountId, name: 'a' });
    await expect(knex('keypairs').insert({ client_id: 'not-prefixed', account_id: accountId, name: 'k', created_by: 'x' })).rejects.toThrow(/check constraint/);
    await expect(knex('users').insert([{ id: newId('user'), email: 'Same@Example.com' }, { id: newId('user'), email: 'same@example.com' }])).rejects.toThrow(/duplicate key/);
    await expect(knex('memberships').insert({ id: newId('membership'), user_id: 'usr_x', role: 'admin' })).rejects.toThrow();
  });

  it('roll all the way down, and up again', async () => {
    expect(await migrateDownAll(knex)).toEqual(['006_identities', '004_console', '003_usage_guards_outbox', '002_status_list', '001_initial']);
    expect(await tables()).toEqual([]);
    const functions = await knex.raw<{ rows: unknown[] }>("select 1 from pg_proc where proname = 'audit_events_append_only'");
    expect(functions.rows).toEqual([]);
    const sequences = await knex.raw<{ rows: unknown[] }>("select 1 from pg_class where relname = 'status_list_index_seq'");
    expect(sequences.rows).toEqual([]);
    expect(await migrateLatest(knex)).toEqual(['001_initial', '002_status_list', '003_usage_guards_outbox', '004_console', '006_identities']);
    expect(await tables()).toEqual(TABLES);
  });
});
