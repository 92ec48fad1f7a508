import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeypair, createTenant, requestToken, startTestKeygate, type TestKeygate } from '../support/keygate.js';

let kg: TestKeygate;
beforeAll(async () => {
  kg = await startTestKeygate();
});
afterAll(() => kg.close());

describe('last-used times', () => {
  it('are written in one batched UPDATE, not once per token', async () => {
    const tenant = await createTenant(kg.keygate);
    const clients = [];
    for (let i = 0; i < 3; i += 1) {
      const { keypair, clientSecret } = await createKeypair(kg.keygate, { owner: { environmentId: tenant.environmentId } });
      clients.push({ clientId: keypair.clientId, clientSecret });
    }
    const updates: string[] = [];
    const onQuery = (query: { sql: string }) => {
      if (/^\s*update keypairs/i.test(query.sql)) updates.push(query.sql);
    };
    kg.keygate.db.knex.on('query', onQuery);
    try {
      for (let round = 0; round < 5; round += 1) {
        for (const client of clients) expect((await requestToken(kg.http, client)).status).toBe(200);
      }
      expect(updates).toEqual([]);
      for (const client of clients) expect((await kg.keygate.keypairs.getKeypair(client.clientId)).lastUsedAt).toBeNull();

      await kg.keygate.lastUsed.flush();
      expect(updates).toHaveLength(1);
    } finally {
      kg.keygate.db.knex.off('query', onQuery);
    }
    for (const client of clients) {
      const keypair = await kg.keygate.keypairs.getKeypair(client.clientId);
      expect(keypair.lastUsedAt?.getTime()).toBe(kg.clock.now().getTime());
      // A last-used write is not an admin change: no version bump.
      expect(keypair.version).toBe(1);
    }
  });

  it('never moves a last-used time backwards', async () => {
    const tenant = await createTenant(kg.keygate);
    const { keypair, clientSecret } = await createKeypair(kg.keygate, { owner: { environmentId: tenant.environmentId } });
    expect((await requestToken(kg.http, { clientId: keypair.clientId, clientSecret })).status).toBe(200);
    await kg.keygate.lastUsed.flush();
    const recorded = (await kg.keygate.keypairs.getKeypair(keypair.clientId)).lastUsedAt!;
    kg.keygate.lastUsed.record(keypair.clientId, new Date(recorded.getTime() - 60_000));
    await kg.keygate.lastUsed.flush();
    expect((await kg.keygate.keypairs.getKeypair(keypair.clientId)).lastUsedAt).toEqual(recorded);
  });
});
