import knexFactory, { type Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser, type TestUser } from '../support/admin.js';
import { createKeypair, createTenant, ownDatabase, startTestKeygate, whileTableLocked, type TestKeygate } from '../support/keygate.js';

/*
 * A keypair read that the database does not answer is the database's failure (503),
 * not a keypair that does not exist (404). Another connection holds the keypairs
 * table locked, so the read waits out DATABASE_STATEMENT_TIMEOUT while the caller's
 * authentication (users, memberships) still works. Needs a second connection:
 * runs in the PostgreSQL pass (TEST_DATABASE_URL), on a database of its own.
 */
describe.runIf(process.env.TEST_DATABASE_URL)('a keypair read the database does not answer', () => {
  let database: Awaited<ReturnType<typeof ownDatabase>>;
  let kg: TestKeygate;
  let operator: TestUser;
  let locker: Knex;
  let clientId: string;

  beforeAll(async () => {
    database = await ownDatabase('keypair_outage');
    kg = await startTestKeygate({ ...database.env, DATABASE_STATEMENT_TIMEOUT: '1' });
    operator = await createUser(kg.keygate, { operator: true });
    const tenant = await createTenant(kg.keygate);
    clientId = (await createKeypair(kg.keygate, { owner: { environmentId: tenant.environmentId } })).keypair.clientId;
    locker = knexFactory({ client: 'pg', connection: database.env.DATABASE_URL! });
  });
  afterAll(async () => {
    await locker?.destroy();
    await kg?.close();
    await database?.drop();
  });

  it('is a 503 with Retry-After on GET /keypairs/:id and on its history, never a 404', async () => {
    expect((await kg.http.get(`/admin/v1/keypairs/${clientId}`).set('Authorization', operator.bearer)).status).toBe(200);
    await whileTableLocked(locker, 'keypairs', async () => {
      for (const path of [`/admin/v1/keypairs/${clientId}`, `/admin/v1/keypairs/${clientId}/events`]) {
        const response = await kg.http.get(path).set('Authorization', operator.bearer);
        expect(response.status, path).toBe(503);
        expect(response.headers['retry-after'], path).toBeDefined();
        expect(response.body, path).toMatchObject({ status: 503, code: 'database_unavailable' });
      }
    });
    expect((await kg.http.get(`/admin/v1/keypairs/${clientId}`).set('Authorization', operator.bearer)).status).toBe(200);
  });
});
