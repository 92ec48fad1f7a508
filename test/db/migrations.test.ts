import { randomBytes } from 'node:crypto';
import knexFactory, { type Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../src/db/embedded.js';
import { migrateDownAll, migrateLatest, migrateOne } from '../../src/db/migrate.js';
import { newId } from '../../src/shared/ids.js';

const TABLES = ['accounts', 'audit_events', 'console_link_uses', 'console_secret_views', 'console_sessions', 'environments', 'keypair_grants', 'keypair_secrets', 'keypairs', 'memberships', 'notification_outbox', 'rate_limit_windows', 'resource_servers', 'trusted_issuers', 'usage_events', 'usage_hourly', 'used_jtis', 'user_identities', 'users'];

let embedded: EmbeddedPostgres | undefined;
let knex: Knex;
let dropDatabase: (() => Promise<void>) | undefined;
/** What migrations logged through knex's logger. */
const warnings: string[] = [];
const log = { warn: (message: string) => void warnings.push(String(message)) };

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
    knex = knexFactory({ client: 'pg', connection: url.toString(), log });
    dropDatabase = async () => {
      await admin.raw(`drop database if exists ${name}`);
      await admin.destroy();
    };
  } else {
    embedded = await startEmbeddedPostgres(undefined);
    knex = knexFactory({ client: 'pg', connection: embedded.url, log });
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
    expect(await migrateLatest(knex)).toEqual(['001_initial', '002_status_list', '003_usage_guards_outbox', '004_console', '005_grants', '006_identities', '007_console_secret_views', '008_keyless_credentials', '009_used_jti_digests']);
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
    expect(await migrateDownAll(knex)).toEqual(['009_used_jti_digests', '008_keyless_credentials', '007_console_secret_views', '006_identities', '005_grants', '004_console', '003_usage_guards_outbox', '002_status_list', '001_initial']);
    expect(await tables()).toEqual([]);
    const functions = await knex.raw<{ rows: unknown[] }>("select 1 from pg_proc where proname = 'audit_events_append_only'");
    expect(functions.rows).toEqual([]);
    const sequences = await knex.raw<{ rows: unknown[] }>("select 1 from pg_class where relname = 'status_list_index_seq'");
    expect(sequences.rows).toEqual([]);
    expect(await migrateLatest(knex)).toEqual(['001_initial', '002_status_list', '003_usage_guards_outbox', '004_console', '005_grants', '006_identities', '007_console_secret_views', '008_keyless_credentials', '009_used_jti_digests']);
    expect(await tables()).toEqual(TABLES);
  });
});

describe('005_grants', () => {
  const PAYMENTS = 'https://payments.example';
  const REPORTS = 'https://reports.example';
  const DEFAULT = 'https://api.example';
  const ids = { a: newId('keypair'), b: newId('keypair'), c: newId('keypair'), d: newId('keypair') };

  it('turns each scope into a grant at the one resource server defining it, narrows shared ones to the default and says so; down restores the scopes', async () => {
    await migrateDownAll(knex);
    for (let step = 0; step < 4; step += 1) await migrateOne(knex, 'up');
    const accountId = newId('account');
    await knex('accounts').insert({ id: accountId, name: 'a' });
    const catalogue = (names: string[]) => JSON.stringify(names.map((name) => ({ name, description: name })));
    await knex('resource_servers').insert([
      { id: newId('resourceServer'), identifier: DEFAULT, name: 'Default', scopes: catalogue(['read', 'write']), is_default: true },
      { id: newId('resourceServer'), identifier: PAYMENTS, name: 'Payments', scopes: catalogue(['read', 'refund']) },
      { id: newId('resourceServer'), identifier: REPORTS, name: 'Reports', scopes: catalogue(['export', 'audit']) },
    ]);
    const keypair = (clientId: string, scopes: string[]) => ({ client_id: clientId, account_id: accountId, name: 'k', created_by: 'x', scopes });
    await knex('keypairs').insert([keypair(ids.a, ['read', 'refund', 'write']), keypair(ids.b, ['export']), keypair(ids.c, ['ghost', 'audit']), keypair(ids.d, [])]);
    // A live secret each, and c also one retired a minute ago (its tokens already fail).
    const secret = (clientId: string, expiresAt: Date | null) => ({
      id: newId('secret'),
      client_id: clientId,
      secret_sha256: randomBytes(32),
      last4: 'abcd',
      expires_at: expiresAt,
      status_idx: knex.raw("nextval('status_list_index_seq')"),
    });
    await knex('keypair_secrets').insert([...Object.values(ids).map((clientId) => secret(clientId, null)), secret(ids.c, new Date(Date.now() - 60_000))]);
    const indexes = async () => Object.fromEntries((await knex('keypair_secrets').whereIn('client_id', Object.values(ids)).select('id', 'status_idx')).map((row: { id: string; status_idx: string }) => [row.id, String(row.status_idx)]));
    const secretsOf = async (clientId: string, live: boolean) => (await knex('keypair_secrets').where({ client_id: clientId }).where((query) => void (live ? query.whereNull('expires_at') : query.whereNotNull('expires_at'))).pluck<string[]>('id'));
    const before = await indexes();

    warnings.length = 0;
    expect(await migrateOne(knex, 'up')).toEqual(['005_grants']);
    // The narrowed keypairs' live secrets get fresh indexes (their old tokens read as revoked); the others keep theirs.
    const after = await indexes();
    const changed = (secretIds: string[]) => secretIds.map((id) => after[id] !== before[id]);
    expect(changed([...(await secretsOf(ids.a, true)), ...(await secretsOf(ids.c, true))])).toEqual([true, true]);
    expect(changed([...(await secretsOf(ids.b, true)), ...(await secretsOf(ids.d, true)), ...(await secretsOf(ids.c, false))])).toEqual([false, false, false]);
    expect(new Set(Object.values(after)).size).toBe(Object.keys(after).length);
    const grants = await knex('keypair_grants as g')
      .join('resource_servers as r', 'r.id', 'g.resource_server_id')
      .whereIn('g.client_id', Object.values(ids))
      .orderBy(['g.client_id', 'r.identifier'])
      .select('g.client_id', 'r.identifier', 'g.scopes');
    expect(grants).toEqual(
      [
        { client_id: ids.a, identifier: DEFAULT, scopes: ['read', 'write'] },
        { client_id: ids.a, identifier: PAYMENTS, scopes: ['refund'] },
        { client_id: ids.b, identifier: REPORTS, scopes: ['export'] },
        { client_id: ids.c, identifier: REPORTS, scopes: ['audit'] },
      ].sort((x, y) => (x.client_id < y.client_id ? -1 : x.client_id > y.client_id ? 1 : 0)),
    );
    // One line per narrowed keypair (a lost read at payments, c a scope nobody defines), then a summary.
    const narrowed = warnings.filter((line) => line.includes('narrowed keypair'));
    expect(narrowed.sort()).toEqual(
      [
        `005_grants narrowed keypair ${ids.a}: read granted at ${DEFAULT} only, no longer at ${PAYMENTS}`,
        `005_grants narrowed keypair ${ids.c}: ghost dropped (no resource server defines it)`,
      ].sort(),
    );
    expect(warnings.some((line) => line.startsWith('005_grants narrowed 2 keypair(s)'))).toBe(true);
    const columns = await knex.raw<{ rows: unknown[] }>("select 1 from information_schema.columns where table_name = 'keypairs' and column_name = 'scopes'");
    expect(columns.rows).toEqual([]);

    expect(await migrateOne(knex, 'down')).toEqual(['005_grants']);
    expect(await tables()).not.toContain('keypair_grants');
    const restored = await knex('keypairs').whereIn('client_id', Object.values(ids)).select('client_id', 'scopes');
    const scopesOf = Object.fromEntries(restored.map((row: { client_id: string; scopes: string[] }) => [row.client_id, [...row.scopes].sort()]));
    expect(scopesOf).toEqual({ [ids.a]: ['read', 'refund', 'write'], [ids.b]: ['export'], [ids.c]: ['audit'], [ids.d]: [] });
    const availableTo = await knex.raw<{ rows: unknown[] }>("select 1 from information_schema.columns where table_name = 'resource_servers' and column_name = 'available_to'");
    expect(availableTo.rows).toEqual([]);

    expect(await migrateLatest(knex)).toEqual(['005_grants', '006_identities', '007_console_secret_views', '008_keyless_credentials', '009_used_jti_digests']);
    expect(await tables()).toEqual(TABLES);
  });
});
