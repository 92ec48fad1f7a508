import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser, type TestUser } from '../support/admin.js';
import { createKeypair, createTenant, startTestKeygate, whileTableLocked, type Tenant, type TestKeygate } from '../support/keygate.js';

// access/reach.ts reads "missing" as not found and nothing else: a keypair lookup that
// times out reaches the admin API's caller as a 503, never as a 404. On a real
// PostgreSQL (TEST_DATABASE_URL), where a lock held by the test times the lookup out.
const databaseUrl = process.env.TEST_DATABASE_URL;

describe.runIf(databaseUrl)('reach: a keypair that cannot be read is not a missing keypair', () => {
  let kg: TestKeygate;
  let tenant: Tenant;
  let admin: TestUser;

  beforeAll(async () => {
    kg = await startTestKeygate({ DATABASE_STATEMENT_TIMEOUT: '1' });
    tenant = await createTenant(kg.keygate);
    admin = await createUser(kg.keygate, { environments: [{ environmentId: tenant.environmentId, accountId: tenant.accountId }] });
  });
  afterAll(() => kg?.close());

  it('the admin API answers 503 for the keypair and its history while the keypairs table is locked, 404 only for an unknown one', async () => {
    const { keypair } = await createKeypair(kg.keygate, { owner: { environmentId: tenant.environmentId } });
    await whileTableLocked(kg.keygate.db.knex, 'keypairs', async () => {
      for (const path of [`/admin/v1/keypairs/${keypair.clientId}`, `/admin/v1/keypairs/${keypair.clientId}/events`]) {
        const response = await kg.http.get(path).set('Authorization', admin.bearer);
        expect(response.status, path).toBe(503);
        expect(response.body, path).toMatchObject({ code: 'database_unavailable' });
      }
    });
    expect((await kg.http.get(`/admin/v1/keypairs/${keypair.clientId}`).set('Authorization', admin.bearer)).status).toBe(200);
    expect((await kg.http.get('/admin/v1/keypairs/kp_unknown').set('Authorization', admin.bearer)).status).toBe(404);
  });
});
