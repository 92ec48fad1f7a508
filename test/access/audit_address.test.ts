import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser, type TestUser } from '../support/admin.js';
import { createTenant, startTestKeygate, type Tenant, type TestKeygate } from '../support/keygate.js';

/**
 * The admin API's audit rows record the client's address the way the token endpoint
 * reads it: behind TRUST_PROXY, the address the trusted proxy appended.
 */
describe('admin API audit rows behind TRUST_PROXY', () => {
  let kg: TestKeygate;
  let tenant: Tenant;
  let admin: TestUser;

  beforeAll(async () => {
    kg = await startTestKeygate({ TRUST_PROXY: 'true' });
    tenant = await createTenant(kg.keygate);
    admin = await createUser(kg.keygate, { accounts: [tenant.accountId] });
  });
  afterAll(() => kg.close());

  it('record the address X-Forwarded-For names, not the proxy’s', async () => {
    const created = await kg.http
      .post(`/admin/v1/environments/${tenant.environmentId}/keypairs`)
      .set('Authorization', admin.bearer)
      .set('X-Forwarded-For', '198.51.100.9, 203.0.113.77')
      .send({ name: 'behind a proxy', scopes: ['read'] });
    expect(created.status).toBe(201);
    const clientId = created.body.clientId as string;
    const patched = await kg.http
      .patch(`/admin/v1/keypairs/${clientId}`)
      .set('Authorization', admin.bearer)
      .set('X-Forwarded-For', '203.0.113.77')
      .send({ comment: 'proxied' });
    expect(patched.status).toBe(200);

    const events = await kg.http.get(`/admin/v1/keypairs/${clientId}/events`).set('Authorization', admin.bearer);
    expect(events.status).toBe(200);
    const byAction = Object.fromEntries((events.body.data as Array<{ action: string; ip: string | null }>).map((event) => [event.action, event.ip]));
    expect(byAction['keypair.created']).toBe('203.0.113.77');
    expect(byAction['keypair.updated']).toBe('203.0.113.77');
  });
});
