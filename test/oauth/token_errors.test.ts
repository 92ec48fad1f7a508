import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSecret } from '../../src/keypairs/secret.js';
import { createKeypair, createTenant, OPERATOR, requestToken, startTestKeygate, type Tenant, type TestKeygate } from '../support/keygate.js';

let kg: TestKeygate;
let tenant: Tenant;

beforeAll(async () => {
  kg = await startTestKeygate();
  tenant = await createTenant(kg.keygate);
});

afterAll(() => kg.close());

const newKeypair = (input: Parameters<typeof createKeypair>[1] = { owner: { environmentId: tenant.environmentId } }) => createKeypair(kg.keygate, input);

function expectInvalidClient(response: { status: number; body: unknown; headers: Record<string, string> }, basic = true) {
  expect(response.status).toBe(401);
  expect(response.body).toEqual({ error: 'invalid_client', error_description: 'client authentication failed' });
  expect(response.headers['cache-control']).toBe('no-store');
  // RFC 6749 §5.2: a 401 after Basic authentication names the scheme in WWW-Authenticate.
  if (basic) expect(response.headers['www-authenticate']).toMatch(/^Basic realm=".*", error="invalid_client"/);
}

describe('RFC 6749 §5.2 error responses', () => {
  it('invalid_request (400) without grant_type', async () => {
    const { keypair, clientSecret } = await newKeypair();
    const response = await kg.http.post('/token').auth(keypair.clientId, clientSecret).type('form').send({});
    expect(response.status).toBe(400);
    expect(response.body).toEqual({ error: 'invalid_request', error_description: "missing required parameter 'grant_type'" });
  });

  it('invalid_request (400) when the client authenticates two ways at once', async () => {
    const { keypair, clientSecret } = await newKeypair();
    const response = await kg.http
      .post('/token')
      .auth(keypair.clientId, clientSecret)
      .type('form')
      .send({ grant_type: 'client_credentials', client_id: keypair.clientId, client_secret: clientSecret });
    expect(response.status).toBe(400);
    expect(response.body.error).toBe('invalid_request');
  });

  it('unsupported_grant_type (400) for grants Keygate does not serve', async () => {
    const { keypair, clientSecret } = await newKeypair();
    for (const grantType of ['authorization_code', 'refresh_token', 'password', 'implicit', 'urn:ietf:params:oauth:grant-type:device_code']) {
      const response = await requestToken(kg.http, { clientId: keypair.clientId, clientSecret }, { grant_type: grantType });
      expect(response.status, grantType).toBe(400);
      expect(response.body.error, grantType).toBe('unsupported_grant_type');
    }
  });

  it('invalid_client (401) with WWW-Authenticate for a wrong secret over Basic', async () => {
    const { keypair } = await newKeypair();
    expectInvalidClient(await requestToken(kg.http, { clientId: keypair.clientId, clientSecret: generateSecret().secret }));
  });

  it('invalid_client (401) for a wrong secret over client_secret_post', async () => {
    const { keypair } = await newKeypair();
    expectInvalidClient(await requestToken(kg.http, { clientId: keypair.clientId, clientSecret: generateSecret().secret }, {}, 'post'), false);
  });

  it('invalid_client (401) for a secret of a foreign format or with a broken checksum', async () => {
    const { keypair, clientSecret } = await newKeypair();
    const typo = `${clientSecret.slice(0, 10)}${clientSecret[10] === 'a' ? 'b' : 'a'}${clientSecret.slice(11)}`;
    for (const secret of ['hunter2', `ghp_${'a'.repeat(36)}`, typo, clientSecret.toUpperCase()]) {
      expectInvalidClient(await requestToken(kg.http, { clientId: keypair.clientId, clientSecret: secret }));
    }
  });

  it('invalid_client (401) for an unknown client_id', async () => {
    const { clientSecret } = await newKeypair();
    expectInvalidClient(await requestToken(kg.http, { clientId: 'kp_0000000000000000000000', clientSecret }));
    expectInvalidClient(await requestToken(kg.http, { clientId: 'not-a-keypair', clientSecret }));
  });

  it('invalid_scope (400) names the refused scope', async () => {
    const { keypair, clientSecret } = await newKeypair({ owner: { environmentId: tenant.environmentId }, scopes: ['read'] });
    const response = await requestToken(kg.http, { clientId: keypair.clientId, clientSecret }, { scope: 'write' });
    expect(response.status).toBe(400);
    expect(response.body).toEqual({ error: 'invalid_scope', error_description: 'requested scope is not allowed', scope: 'write' });
  });
});

describe('keypair state reaches the token endpoint on the next request', () => {
  it('a disabled keypair gets invalid_client, and works again once enabled', async () => {
    const credentials = await newKeypair();
    const client = { clientId: credentials.keypair.clientId, clientSecret: credentials.clientSecret };
    expect((await requestToken(kg.http, client)).status).toBe(200);

    await kg.keygate.keypairs.disableKeypair(OPERATOR, client.clientId, 'leaked in a log');
    expectInvalidClient(await requestToken(kg.http, client));

    await kg.keygate.keypairs.enableKeypair(OPERATOR, client.clientId);
    expect((await requestToken(kg.http, client)).status).toBe(200);
  });

  it('an expired keypair gets invalid_client from its expiry on', async () => {
    const credentials = await newKeypair({ owner: { environmentId: tenant.environmentId }, expiresAt: new Date(kg.clock.now().getTime() + 60_000) });
    const client = { clientId: credentials.keypair.clientId, clientSecret: credentials.clientSecret };
    expect((await requestToken(kg.http, client)).status).toBe(200);
    kg.clock.advance(61);
    expectInvalidClient(await requestToken(kg.http, client));
  });

  it('a deleted keypair gets invalid_client', async () => {
    const credentials = await newKeypair();
    const client = { clientId: credentials.keypair.clientId, clientSecret: credentials.clientSecret };
    expect((await requestToken(kg.http, client)).status).toBe(200);
    await kg.keygate.keypairs.deleteKeypair(OPERATOR, client.clientId);
    expectInvalidClient(await requestToken(kg.http, client));
    expect(await kg.keygate.db.knex('keypair_secrets').where({ client_id: client.clientId }).count()).toEqual([{ count: 0 }]);
  });

  it('a rotation keeps the previous secret alive for the grace period only', async () => {
    const first = await newKeypair();
    const clientId = first.keypair.clientId;
    const second = await kg.keygate.keypairs.rotateSecret(OPERATOR, clientId, 60);
    expect(second.clientSecret).not.toBe(first.clientSecret);
    expect(second.keypair.secretHint).toBe(`kgs_••••${second.clientSecret.slice(-4)}`);

    expect((await requestToken(kg.http, { clientId, clientSecret: first.clientSecret })).status).toBe(200);
    expect((await requestToken(kg.http, { clientId, clientSecret: second.clientSecret })).status).toBe(200);

    kg.clock.advance(61);
    expectInvalidClient(await requestToken(kg.http, { clientId, clientSecret: first.clientSecret }));
    expect((await requestToken(kg.http, { clientId, clientSecret: second.clientSecret })).status).toBe(200);
  });

  it('a rotation with no grace kills the previous secret at once, and any older one always', async () => {
    const first = await newKeypair();
    const clientId = first.keypair.clientId;
    const second = await kg.keygate.keypairs.rotateSecret(OPERATOR, clientId, 3600);
    const third = await kg.keygate.keypairs.rotateSecret(OPERATOR, clientId, 3600);
    // The first secret was already the previous one's predecessor: it dies with the second rotation.
    expectInvalidClient(await requestToken(kg.http, { clientId, clientSecret: first.clientSecret }));
    expect((await requestToken(kg.http, { clientId, clientSecret: second.clientSecret })).status).toBe(200);

    const fourth = await kg.keygate.keypairs.rotateSecret(OPERATOR, clientId, 0);
    expectInvalidClient(await requestToken(kg.http, { clientId, clientSecret: third.clientSecret }));
    expectInvalidClient(await requestToken(kg.http, { clientId, clientSecret: second.clientSecret }));
    expect((await requestToken(kg.http, { clientId, clientSecret: fourth.clientSecret })).status).toBe(200);
    // Retired digests stay (until cleanup) so a request with one is told apart from a guess; only one is live.
    const live = await kg.keygate.db.knex('keypair_secrets').where({ client_id: clientId }).where((q) => void q.whereNull('expires_at').orWhere('expires_at', '>', kg.clock.now()));
    expect(live).toHaveLength(1);
  });

  it('re-scoping applies to the next token', async () => {
    const credentials = await newKeypair();
    const client = { clientId: credentials.keypair.clientId, clientSecret: credentials.clientSecret };
    expect((await requestToken(kg.http, client, { scope: 'write' })).status).toBe(200);
    await kg.keygate.keypairs.updateKeypair(OPERATOR, client.clientId, { scopes: ['read'] });
    const response = await requestToken(kg.http, client, { scope: 'write' });
    expect(response.status).toBe(400);
    expect(response.body.error).toBe('invalid_scope');
  });
});

describe('bad requests never reach a 5xx', () => {
  it('answers malformed bodies and headers with a 4xx', async () => {
    const { keypair, clientSecret } = await newKeypair();
    const basic = (value: string) => `Basic ${Buffer.from(value).toString('base64')}`;
    const attempts = [
      kg.http.post('/token').set('Content-Type', 'application/json').send('{"grant_type":"client_credentials"}'),
      kg.http.post('/token').set('Content-Type', 'application/x-www-form-urlencoded').send('%%%&&&==='),
      kg.http.post('/token').set('Content-Type', 'text/plain').send('grant_type=client_credentials'),
      kg.http.post('/token').set('Authorization', 'Basic !!!notbase64').type('form').send({ grant_type: 'client_credentials' }),
      kg.http.post('/token').set('Authorization', basic('no-colon')).type('form').send({ grant_type: 'client_credentials' }),
      kg.http.post('/token').set('Authorization', basic(`${keypair.clientId}:`)).type('form').send({ grant_type: 'client_credentials' }),
      kg.http.post('/token').set('Authorization', 'Bearer abc').type('form').send({ grant_type: 'client_credentials' }),
      kg.http.post('/token').auth(keypair.clientId, clientSecret).type('form').send(`grant_type=client_credentials&grant_type=client_credentials`),
      kg.http.post('/token').auth(keypair.clientId, clientSecret).type('form').send(`grant_type=client_credentials&scope=${'a'.repeat(70_000)}`),
      kg.http.post('/token').auth(keypair.clientId, clientSecret).type('form').send({ grant_type: 'client_credentials', resource: 'not a uri' }),
      kg.http.post('/token').auth(keypair.clientId, clientSecret).type('form').send({ grant_type: 'client_credentials', resource: 'https://api.example/#fragment' }),
      kg.http.post('/token').auth(keypair.clientId, clientSecret).type('form').send({ grant_type: 'client_credentials', scope: '\u0000' }),
      kg.http.get('/token'),
      kg.http.post('/token').type('form').send({ grant_type: 'client_credentials', client_id: keypair.clientId }),
      kg.http.post('/token').type('form').send({ grant_type: 'client_credentials', client_id: ['a', 'b'] }),
    ];
    for (const [index, attempt] of attempts.entries()) {
      const response = await attempt;
      expect(response.status, `attempt ${index}`).toBeGreaterThanOrEqual(400);
      expect(response.status, `attempt ${index}`).toBeLessThan(500);
      expect(typeof response.body.error, `attempt ${index}`).toBe('string');
    }
  });

  it('serves only the token, JWKS and discovery endpoints of oidc-provider', async () => {
    for (const path of ['/auth', '/me', '/token/introspection', '/session/end', '/reg']) {
      const response = await kg.http.get(path);
      expect(response.status, path).toBe(404);
    }
  });
});
