import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant, OPERATOR, requestToken, startTestKeygate, type TestKeygate } from '../support/keygate.js';

let kg: TestKeygate;
beforeAll(async () => {
  kg = await startTestKeygate({ MAX_ACTIVE_KEYPAIRS: '300' });
});
afterAll(() => kg.close());

describe('creating keypairs in bulk', () => {
  it('creates working keypairs with their audit events, in batches', async () => {
    const tenant = await createTenant(kg.keygate);
    const created = await kg.keygate.keypairs.createKeypairs(OPERATOR, { environmentId: tenant.environmentId }, 250, { namePrefix: 'bulk-', scopes: ['read'] });
    expect(created).toHaveLength(250);
    expect(new Set(created.map((keypair) => keypair.clientId)).size).toBe(250);
    for (const credentials of [created[0]!, created[124]!, created[249]!]) {
      const response = await requestToken(kg.http, credentials);
      expect(response.status).toBe(200);
      expect(response.body.scope).toBe('read');
    }
    const [events] = await kg.keygate.db.knex('audit_events').where({ environment_id: tenant.environmentId, action: 'keypair.created' }).count<{ count: number }[]>({ count: '*' });
    expect(Number(events!.count)).toBe(250);
  });

  it('refuses a batch that would pass the active-keypair cap, writing nothing', async () => {
    const tenant = await createTenant(kg.keygate);
    await expect(kg.keygate.keypairs.createKeypairs(OPERATOR, { environmentId: tenant.environmentId }, 301, { namePrefix: 'x', scopes: [] })).rejects.toMatchObject({ code: 'limit_reached' });
    const [row] = await kg.keygate.db.knex('keypairs').where({ environment_id: tenant.environmentId }).count<{ count: number }[]>({ count: '*' });
    expect(Number(row!.count)).toBe(0);
  });
});
