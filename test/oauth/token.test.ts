import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeypair, createResourceServer, createTenant, listen, requestToken, startTestKeygate, TEST_ISSUER, type Tenant, type TestKeygate } from '../support/keygate.js';

let kg: TestKeygate;
let tenant: Tenant;
let server: Awaited<ReturnType<typeof listen>>;
let defaultAudience: string;

beforeAll(async () => {
  kg = await startTestKeygate();
  tenant = await createTenant(kg.keygate);
  server = await listen(kg.keygate);
  defaultAudience = kg.keygate.catalog.defaultServer!.identifier;
});

afterAll(async () => {
  await server.close();
  await kg.close();
});

async function verifyWithJose(token: string, audience = defaultAudience) {
  const jwks = createRemoteJWKSet(new URL(`${server.url}/jwks`));
  return jwtVerify(token, jwks, { issuer: TEST_ISSUER, audience, typ: 'at+jwt', algorithms: ['ES256'] });
}

describe('client-credentials grant', () => {
  it('issues an RFC 9068 JWT with client_secret_basic that plain jose verifies against /jwks', async () => {
    const { keypair, clientSecret } = await createKeypair(kg.keygate, { owner: { environmentId: tenant.environmentId } });
    const response = await requestToken(kg.http, { clientId: keypair.clientId, clientSecret });

    expect(response.status).toBe(200);
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.body).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 300, scope: 'read write' });

    const { payload, protectedHeader } = await verifyWithJose(response.body.access_token);
    const jwks = (await kg.http.get('/jwks')).body as { keys: Array<{ kid: string; d?: string }> };
    expect(protectedHeader).toEqual({ alg: 'ES256', typ: 'at+jwt', kid: jwks.keys[0]!.kid });
    expect(jwks.keys.every((key) => key.d === undefined)).toBe(true);
    expect(payload).toEqual({
      iss: TEST_ISSUER,
      sub: keypair.clientId,
      client_id: keypair.clientId,
      aud: defaultAudience,
      scope: 'read write',
      iat: expect.any(Number),
      exp: (payload.iat as number) + 300,
      jti: expect.any(String),
      account_id: tenant.accountId,
      environment_id: tenant.environmentId,
      status: { status_list: { idx: expect.any(Number), uri: expect.stringMatching(/^http:\/\/keygate\.test\/statuslists\/\d+$/) } },
    });
  });

  it('accepts client_secret_post with the same keypair', async () => {
    const credentials = await createKeypair(kg.keygate, { owner: { environmentId: tenant.environmentId } });
    const response = await requestToken(kg.http, { clientId: credentials.keypair.clientId, clientSecret: credentials.clientSecret }, { scope: 'read' }, 'post');
    expect(response.status).toBe(200);
    expect(response.body.scope).toBe('read');
    const { payload } = await verifyWithJose(response.body.access_token);
    expect(payload.scope).toBe('read');
  });

  it('leaves environment_id out of an account-level keypair token', async () => {
    const { keypair, clientSecret } = await createKeypair(kg.keygate, { owner: { accountId: tenant.accountId } });
    const response = await requestToken(kg.http, { clientId: keypair.clientId, clientSecret });
    expect(response.status).toBe(200);
    const { payload } = await verifyWithJose(response.body.access_token);
    expect(payload.account_id).toBe(tenant.accountId);
    expect(payload).not.toHaveProperty('environment_id');
  });

  it('with no scope grants every scope the keypair holds at that resource server', async () => {
    const { keypair, clientSecret } = await createKeypair(kg.keygate, { owner: { environmentId: tenant.environmentId }, scopes: ['write'] });
    const response = await requestToken(kg.http, { clientId: keypair.clientId, clientSecret });
    expect(response.status).toBe(200);
    expect(response.body.scope).toBe('write');
  });
});

describe('resource indicators (RFC 8707)', () => {
  it('issues a token for the named resource server with its audience, scopes and lifetime', async () => {
    const identifier = await createResourceServer(kg.keygate, ['reports:read', 'reports:write'], 120);
    const { keypair, clientSecret } = await createKeypair(kg.keygate, { owner: { environmentId: tenant.environmentId }, scopes: ['read'], grants: [{ resourceServer: identifier, scopes: ['reports:read'] }] });

    const response = await requestToken(kg.http, { clientId: keypair.clientId, clientSecret }, { resource: identifier });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ scope: 'reports:read', expires_in: 120 });
    const { payload } = await verifyWithJose(response.body.access_token, identifier);
    expect(payload.aud).toBe(identifier);
    expect(payload.exp! - payload.iat!).toBe(120);

    // Scopes of the default resource server are not granted at another one.
    const crossed = await requestToken(kg.http, { clientId: keypair.clientId, clientSecret }, { resource: identifier, scope: 'read' });
    expect(crossed.status).toBe(400);
    expect(crossed.body).toEqual({ error: 'invalid_scope', error_description: 'requested scope is not allowed', scope: 'read' });
  });

  it('refuses an unknown resource with invalid_target', async () => {
    const { keypair, clientSecret } = await createKeypair(kg.keygate, { owner: { environmentId: tenant.environmentId } });
    const response = await requestToken(kg.http, { clientId: keypair.clientId, clientSecret }, { resource: 'https://unknown.example/' });
    expect(response.status).toBe(400);
    expect(response.body).toEqual({ error: 'invalid_target', error_description: 'unknown resource server' });
  });

  it('refuses a resource the keypair holds no scope of with invalid_target', async () => {
    const identifier = await createResourceServer(kg.keygate, ['billing']);
    const { keypair, clientSecret } = await createKeypair(kg.keygate, { owner: { environmentId: tenant.environmentId }, scopes: ['read'] });
    const response = await requestToken(kg.http, { clientId: keypair.clientId, clientSecret }, { resource: identifier });
    expect(response.status).toBe(400);
    expect(response.body.error).toBe('invalid_target');
  });

  it('refuses two resources in one request with invalid_target', async () => {
    const identifier = await createResourceServer(kg.keygate, ['read']);
    const { keypair, clientSecret } = await createKeypair(kg.keygate, { owner: { environmentId: tenant.environmentId } });
    const response = await kg.http
      .post('/token')
      .auth(keypair.clientId, clientSecret)
      .type('form')
      .send(`grant_type=client_credentials&resource=${encodeURIComponent(identifier)}&resource=${encodeURIComponent(defaultAudience)}`);
    expect(response.status).toBe(400);
    expect(response.body.error).toBe('invalid_target');
  });
});

describe('scope escalation', () => {
  it('refuses a scope the keypair does not hold with invalid_scope', async () => {
    const { keypair, clientSecret } = await createKeypair(kg.keygate, { owner: { environmentId: tenant.environmentId }, scopes: ['read'] });
    const response = await requestToken(kg.http, { clientId: keypair.clientId, clientSecret }, { scope: 'read write' });
    expect(response.status).toBe(400);
    expect(response.body).toEqual({ error: 'invalid_scope', error_description: 'requested scope is not allowed', scope: 'write' });
  });

  it('refuses a scope no resource server defines with invalid_scope', async () => {
    const { keypair, clientSecret } = await createKeypair(kg.keygate, { owner: { environmentId: tenant.environmentId } });
    const response = await requestToken(kg.http, { clientId: keypair.clientId, clientSecret }, { scope: 'read admin' });
    expect(response.status).toBe(400);
    expect(response.body).toEqual({ error: 'invalid_scope', error_description: 'requested scope is not allowed', scope: 'admin' });
  });
});
