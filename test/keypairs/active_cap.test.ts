import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser, type TestUser } from '../support/admin.js';
import { createKeypair, createTenant, OPERATOR, startTestKeygate, type Tenant, type TestKeygate } from '../support/keygate.js';

// The race needs connections that run side by side: PostgreSQL (TEST_DATABASE_URL,
// a pool of 10) has it. On the embedded PGlite the one connection serialises the
// transactions, and the same requests check that the cap still holds there.
const CAP = 3;

let kg: TestKeygate;
let operator: TestUser;

beforeAll(async () => {
  kg = await startTestKeygate({ MAX_ACTIVE_KEYPAIRS: String(CAP) });
  operator = await createUser(kg.keygate, { operator: true });
});

afterAll(() => kg.close());

/** An environment with CAP - 1 active keypairs and `disabled` disabled ones. */
async function ownerOneBelowCap(disabled: number): Promise<{ tenant: Tenant; disabledIds: string[] }> {
  const tenant = await createTenant(kg.keygate);
  const owner = { environmentId: tenant.environmentId };
  for (let i = 0; i < CAP - 1; i += 1) await createKeypair(kg.keygate, { owner });
  const disabledIds: string[] = [];
  for (let i = 0; i < disabled; i += 1) {
    const { keypair } = await createKeypair(kg.keygate, { owner });
    await kg.keygate.keypairs.disableKeypair(OPERATOR, keypair.clientId);
    disabledIds.push(keypair.clientId);
  }
  // Disabling the last ones brought it down again: CAP - 1 active.
  return { tenant, disabledIds };
}

async function activeIn(tenant: Tenant): Promise<number> {
  const [row] = await kg.keygate.db.knex('keypairs').where({ environment_id: tenant.environmentId, enabled: true }).count<{ count: string }[]>({ count: '*' });
  return Number(row!.count);
}

const enable = (clientId: string) => kg.http.patch(`/admin/v1/keypairs/${clientId}`).set('Authorization', operator.bearer).send({ enabled: true });
const create = (tenant: Tenant) => kg.http.post(`/admin/v1/environments/${tenant.environmentId}/keypairs`).set('Authorization', operator.bearer).send({ name: 'racing', scopes: ['read'] });

describe('MAX_ACTIVE_KEYPAIRS under concurrent requests', () => {
  it('parallel enables through PATCH: exactly one passes, the owner ends at the cap', async () => {
    for (let round = 0; round < 3; round += 1) {
      const { tenant, disabledIds } = await ownerOneBelowCap(8);
      const responses = await Promise.all(disabledIds.map((clientId) => enable(clientId)));
      const statuses = responses.map((response) => response.status).sort();
      expect(statuses).toEqual([200, ...Array<number>(7).fill(409)]);
      expect(responses.find((response) => response.status === 409)!.body).toMatchObject({ status: 409 });
      expect(await activeIn(tenant)).toBe(CAP);
    }
  });

  it('enables racing creates: one of them passes, the owner ends at the cap', async () => {
    for (let round = 0; round < 3; round += 1) {
      const { tenant, disabledIds } = await ownerOneBelowCap(4);
      const responses = await Promise.all([...disabledIds.map((clientId) => enable(clientId)), create(tenant), create(tenant), create(tenant), create(tenant)]);
      const passed = responses.filter((response) => response.status === 200 || response.status === 201);
      expect(passed).toHaveLength(1);
      expect(responses.filter((response) => response.status === 409)).toHaveLength(7);
      expect(await activeIn(tenant)).toBe(CAP);
    }
  });
});

describe('an enable racing the close of its environment', () => {
  it('one waits for the other: never a deadlock (500), the environment ends closed and its keypairs gone', async () => {
    for (let round = 0; round < 5; round += 1) {
      const { tenant, disabledIds } = await ownerOneBelowCap(4);
      const close = kg.http.delete(`/admin/v1/environments/${tenant.environmentId}`).set('Authorization', operator.bearer);
      const responses = await Promise.all([...disabledIds.map((clientId) => enable(clientId)), close]);
      const closed = responses.at(-1)!;
      expect(closed.status).toBe(204);
      // Each enable ran before the close (200, or 409 at the cap) or after it (404).
      for (const response of responses.slice(0, -1)) expect([200, 404, 409]).toContain(response.status);
      expect(await activeIn(tenant)).toBe(0);
    }
  });
});
