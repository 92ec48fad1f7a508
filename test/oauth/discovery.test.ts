import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser } from '../support/admin.js';
import { createTenant, startTestKeygate, TEST_ISSUER, type TestKeygate } from '../support/keygate.js';

let kg: TestKeygate;
beforeAll(async () => {
  kg = await startTestKeygate();
});
afterAll(() => kg.close());

describe('discovery', () => {
  it.each(['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration'])('%s describes the token endpoint and JWKS', async (path) => {
    const response = await kg.http.get(path);
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      issuer: TEST_ISSUER,
      token_endpoint: `${TEST_ISSUER}/token`,
      jwks_uri: `${TEST_ISSUER}/jwks`,
      grant_types_supported: ['client_credentials'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'private_key_jwt'],
    });
    // Keyless keypairs and DPoP: what a client library reads to choose how to sign.
    expect(response.body.token_endpoint_auth_signing_alg_values_supported).toEqual(expect.arrayContaining(['ES256', 'RS256', 'EdDSA']));
    expect(response.body.token_endpoint_auth_signing_alg_values_supported).not.toContain('HS256');
    expect(response.body.dpop_signing_alg_values_supported).toEqual(expect.arrayContaining(['ES256', 'EdDSA']));
    expect(response.body.scopes_supported).toEqual(expect.arrayContaining(['read', 'write']));
    expect(response.body).not.toHaveProperty('authorization_endpoint');
  });

  it('lists only the scopes of resource servers available to every account', async () => {
    const operator = await createUser(kg.keygate, { operator: true });
    const tenant = await createTenant(kg.keygate);
    const create = (identifier: string, scope: string, availableTo: string[] | null) =>
      kg.http
        .post('/admin/v1/resource-servers')
        .set('Authorization', operator.bearer)
        .send({ identifier, name: identifier, scopes: [{ name: scope, description: scope }], availableTo });
    expect((await create('https://open.discovery.test', 'open-scope', null)).status).toBe(201);
    expect((await create('https://private.discovery.test', 'private-scope', [tenant.accountId])).status).toBe(201);

    const response = await kg.http.get('/.well-known/oauth-authorization-server');
    // A server limited to named accounts is not announced to the world, nor are its scope names.
    expect(response.body.scopes_supported).toContain('open-scope');
    expect(response.body.scopes_supported).not.toContain('private-scope');
  });

  it('publishes only public keys at /jwks', async () => {
    const response = await kg.http.get('/jwks');
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toMatch(/^application\/jwk-set\+json/);
    const keys = response.body.keys as Array<Record<string, unknown>>;
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) {
      expect(key).toMatchObject({ kid: expect.any(String), use: 'sig', alg: 'ES256' });
      expect(key).not.toHaveProperty('d');
    }
  });
});
