import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Logger } from '../../src/shared/log.js';
import { createUser, type TestUser } from '../support/admin.js';
import { createResourceServer, ownDatabase, startTestKeygate, type TestKeygate } from '../support/keygate.js';

/** Log lines as they come, and a promise for the next one with a given message. */
const lines: Array<{ msg: string; fields?: Record<string, unknown> }> = [];
const waiters: Array<{ msg: string; resolve: (fields: Record<string, unknown> | undefined) => void }> = [];
const record = (msg: string, fields?: Record<string, unknown>) => {
  lines.push({ msg, ...(fields && { fields }) });
  for (const waiter of waiters.filter((candidate) => candidate.msg === msg)) {
    waiters.splice(waiters.indexOf(waiter), 1);
    waiter.resolve(fields);
  }
};
const log: Logger = { debug: record, info: record, warn: record, error: record, child: () => log };
const next = (msg: string) => new Promise<Record<string, unknown> | undefined>((resolve) => waiters.push({ msg, resolve }));

let database: Awaited<ReturnType<typeof ownDatabase>>;
let kg: TestKeygate;
let operator: TestUser;

beforeAll(async () => {
  // Its own database on PostgreSQL: this test takes the resource_servers table away for a moment.
  database = await ownDatabase('catalog_reload');
  kg = await startTestKeygate(database.env, { log });
  operator = await createUser(kg.keygate, { operator: true });
});
afterAll(async () => {
  await kg?.close();
  await database?.drop();
});

it('a reload that fails is logged and retried until it succeeds, so the catalogue does not stay stale', async () => {
  const identifier = await createResourceServer(kg.keygate, ['ledger']);
  const knex = kg.keygate.db.knex;
  const { id } = await knex('resource_servers').where({ identifier }).first();

  // Another process changes the server while this one cannot read the table: the reload on its notice fails.
  await knex.raw('alter table resource_servers rename to resource_servers_away');
  const failed = next('resource server catalogue reload failed');
  await knex.transaction((trx) => kg.keygate.changes.publish(trx, [id]));
  expect(await failed).toMatchObject({ failures: 1, retryInMs: 1000 });

  const recovered = next('resource server catalogue reloaded after failures');
  await knex('resource_servers_away').where({ id }).update({ name: 'Renamed', scopes: JSON.stringify([{ name: 'ledger', description: 'ledger' }, { name: 'audit', description: 'audit' }]) });
  await knex.raw('alter table resource_servers_away rename to resource_servers');
  await recovered;

  const response = await kg.http.get(`/admin/v1/resource-servers/${id}`).set('Authorization', operator.bearer);
  expect(response.status).toBe(200);
  expect(response.body).toMatchObject({ name: 'Renamed', scopes: [{ name: 'ledger' }, { name: 'audit' }] });
});
