import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeypair, createTenant, OPERATOR, requestToken, startTestKeygate, type TestKeygate } from '../support/keygate.js';

let kg: TestKeygate;
beforeAll(async () => {
  kg = await startTestKeygate();
});
afterAll(() => kg.close());

describe('the client cache', () => {
  it('preloads enabled keypairs, so their first token request makes no query', async () => {
    const tenant = await createTenant(kg.keygate);
    const enabled = await createKeypair(kg.keygate, { owner: { environmentId: tenant.environmentId } });
    const disabled = await createKeypair(kg.keygate, { owner: { environmentId: tenant.environmentId } });
    await kg.keygate.keypairs.disableKeypair(OPERATOR, disabled.keypair.clientId);

    // A second process starting now: it preloads what the first one created.
    const second = await startTestKeygate({ KEYS_FILE: `${kg.dir}/jwks.json` });
    try {
      expect(await second.keygate.clients.preload()).toBeGreaterThanOrEqual(1);
      const queries: string[] = [];
      const onQuery = (query: { sql: string }) => void queries.push(query.sql);
      second.keygate.db.knex.on('query', onQuery);
      const response = await requestToken(second.http, { clientId: enabled.keypair.clientId, clientSecret: enabled.clientSecret });
      second.keygate.db.knex.off('query', onQuery);
      expect(response.status).toBe(200);
      expect(queries).toEqual([]);

      // Disabled keypairs are not preloaded; a change drops a preloaded one.
      expect((await requestToken(second.http, { clientId: disabled.keypair.clientId, clientSecret: disabled.clientSecret })).status).toBe(401);
      await second.keygate.keypairs.disableKeypair(OPERATOR, enabled.keypair.clientId);
      expect((await requestToken(second.http, { clientId: enabled.keypair.clientId, clientSecret: enabled.clientSecret })).status).toBe(401);
    } finally {
      await second.close();
    }
  });

  it('a cached keypair is read again once older than CLIENT_CACHE_MAX_AGE, even when no change notice came', async () => {
    const tenant = await createTenant(kg.keygate);
    const { keypair, clientSecret } = await createKeypair(kg.keygate, { owner: { environmentId: tenant.environmentId } });
    const client = { clientId: keypair.clientId, clientSecret };
    expect((await requestToken(kg.http, client)).status).toBe(200);
    // A change whose notice never arrives (written behind Keygate's back, as a lost NOTIFY would leave it).
    await kg.keygate.db.knex('keypairs').where({ client_id: keypair.clientId }).update({ enabled: false });
    expect((await requestToken(kg.http, client)).status).toBe(200);
    kg.clock.advance(kg.keygate.config.clientCacheMaxAgeSeconds - 1);
    expect((await requestToken(kg.http, client)).status).toBe(200);
    kg.clock.advance(1);
    expect((await requestToken(kg.http, client)).status).toBe(401);
  });
});
