import { createRemoteJWKSet, exportJWK, generateKeyPair, jwtVerify, SignJWT, type CryptoKey, type JWK } from 'jose';
import * as client from 'openid-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createUser, type TestUser } from '../support/admin.js';
import { createTenant, startServedKeygate, type ServedKeygate, type Tenant } from '../support/keygate.js';

/**
 * Keypairs with a public key instead of a secret (private_key_jwt, RFC 7523): created
 * over the admin API, used by openid-client (an independent client library), and
 * refused for every way an assertion can be wrong, each reason counted in usage.
 */
let kg: ServedKeygate;
let tenant: Tenant;
let admin: TestUser;

beforeAll(async () => {
  kg = await startServedKeygate();
  tenant = await createTenant(kg.keygate);
  admin = await createUser(kg.keygate, { environments: [tenant] });
});
afterAll(() => kg.close());
// Keygate checks assertions against its clock, which the tests move by hand and which
// otherwise stands still; openid-client stamps nbf with the real time. Each test starts
// with the two together, however long the run has taken so far.
beforeEach(() => kg.clock.advance(Math.max(0, (Date.now() - kg.clock.now().getTime()) / 1000)));

const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

interface ClientKey {
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
}

async function clientKey(alg: 'ES256' | 'RS256' | 'EdDSA' = 'ES256'): Promise<ClientKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { privateKey, publicJwk: await exportJWK(publicKey) };
}

async function createPublicKeyKeypair(keys: ClientKey[], extra: Record<string, unknown> = {}): Promise<string> {
  const response = await kg.http
    .post(`/admin/v1/environments/${tenant.environmentId}/keypairs`)
    .set('Authorization', admin.bearer)
    .send({ name: 'signing job', scopes: ['read', 'write'], publicKeys: keys.map((key) => key.publicJwk), ...extra });
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  expect(response.body).not.toHaveProperty('clientSecret');
  expect(response.body.credentialType).toBe('public_key');
  return response.body.clientId as string;
}

/** A client assertion for `clientId`, valid unless `claims` (or `alg`) say otherwise. */
async function assertion(clientId: string, key: ClientKey, claims: Record<string, unknown> = {}, alg = 'ES256'): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ iss: clientId, sub: clientId, aud: kg.issuer, jti: crypto.randomUUID(), iat: now, exp: now + 60, ...claims })
    .setProtectedHeader({ alg })
    .sign(key.privateKey);
}

function tokenWithAssertion(clientAssertion: string, params: Record<string, string> = {}) {
  return kg.http.post('/token').type('form').send({ grant_type: 'client_credentials', client_assertion_type: JWT_BEARER, client_assertion: clientAssertion, ...params });
}

/** The keypair's recent requests, each as its reason (or `issued`), sorted: the test clock stands still, so they share one time and their order is not the log's to give. */
async function usageReasons(clientId: string): Promise<string[]> {
  await kg.keygate.usage!.flush();
  const usage = await kg.http.get(`/admin/v1/keypairs/${clientId}/usage`).set('Authorization', admin.bearer);
  return (usage.body.recentRequests as Array<{ reason: string | null; outcome: string }>).map((request) => request.reason ?? request.outcome).sort();
}

describe('private_key_jwt', () => {
  it('openid-client gets a token with a key the keypair holds, found through discovery', async () => {
    const key = await clientKey();
    const clientId = await createPublicKeyKeypair([key]);
    const config = await client.discovery(new URL(kg.issuer), clientId, undefined, client.PrivateKeyJwt(key.privateKey), { execute: [client.allowInsecureRequests] });
    expect(config.serverMetadata().token_endpoint_auth_methods_supported).toContain('private_key_jwt');

    const tokens = await client.clientCredentialsGrant(config, { scope: 'read' });

    const { payload } = await jwtVerify(tokens.access_token, createRemoteJWKSet(new URL(`${kg.issuer}/jwks`)), { issuer: kg.issuer, typ: 'at+jwt' });
    expect(payload).toMatchObject({ client_id: clientId, sub: clientId, scope: 'read', account_id: tenant.accountId, environment_id: tenant.environmentId });
    // The keypair's status-list entry: a disable revokes this token where resource servers check it.
    expect(payload.status).toEqual({ status_list: { idx: expect.any(Number), uri: expect.stringContaining('/statuslists/') } });
  });

  it('accepts RSA and Ed25519 keys, and any of several keys, with client_id in the body or only in the assertion', async () => {
    const [ec, rsa, ed] = [await clientKey('ES256'), await clientKey('RS256'), await clientKey('EdDSA')];
    const clientId = await createPublicKeyKeypair([ec, rsa, ed]);
    expect((await tokenWithAssertion(await assertion(clientId, rsa, {}, 'RS256'))).status).toBe(200);
    expect((await tokenWithAssertion(await assertion(clientId, ed, {}, 'EdDSA'), { client_id: clientId })).status).toBe(200);
    expect((await tokenWithAssertion(await assertion(clientId, ec, { aud: `${kg.issuer}/token` }))).status).toBe(200);
  });

  it('refuses a replayed assertion, and every other wrong one, each with its reason in usage', async () => {
    const key = await clientKey();
    const clientId = await createPublicKeyKeypair([key]);
    const once = await assertion(clientId, key);
    expect((await tokenWithAssertion(once)).status).toBe(200);

    const now = Math.floor(Date.now() / 1000);
    const refused = [
      once,
      await assertion(clientId, await clientKey()),
      await assertion(clientId, key, { exp: now - 60 }),
      await assertion(clientId, key, { exp: now + 3600 }),
      await assertion(clientId, key, { aud: 'https://elsewhere.test' }),
      await assertion(clientId, key, { iss: 'kp_someoneelse' }),
    ];
    for (const wrong of refused) {
      const response = await tokenWithAssertion(wrong, { client_id: clientId });
      expect(response.status).toBe(401);
      expect(response.body).toEqual({ error: 'invalid_client', error_description: 'client authentication failed' });
    }
    expect(await usageReasons(clientId)).toEqual(
      ['issued', 'assertion_replayed', 'assertion_invalid', 'assertion_expired', 'assertion_invalid', 'assertion_audience_mismatch', 'assertion_issuer_mismatch'].sort(),
    );
  });

  it('gives one token to one assertion sent ten times at once, and refuses the other nine as replays', async () => {
    const key = await clientKey();
    const clientId = await createPublicKeyKeypair([key]);
    const once = await assertion(clientId, key);
    const statuses = await Promise.all(Array.from({ length: 10 }, async () => (await tokenWithAssertion(once)).status));
    expect(statuses.filter((status) => status === 200)).toHaveLength(1);
    expect(statuses.filter((status) => status === 401)).toHaveLength(9);
    expect((await usageReasons(clientId)).filter((reason) => reason === 'assertion_replayed')).toHaveLength(9);
  });

  it('takes any jti the client picks (a NUL, a lone surrogate, 3,000 characters) once, without failing the requests written with it', async () => {
    const key = await clientKey();
    const clientId = await createPublicKeyKeypair([key]);
    const odd = ['with\u0000nul', 'lone \uD800 surrogate', 'another lone \uD801 surrogate', 'x'.repeat(3000)];
    const assertions = [...(await Promise.all(odd.map((jti) => assertion(clientId, key, { jti })))), ...(await Promise.all(Array.from({ length: 6 }, () => assertion(clientId, key))))];
    // All at once, so that they share the replay store's batched writes.
    const first = await Promise.all(assertions.map(async (signed) => (await tokenWithAssertion(signed)).status));
    expect(first).toEqual(assertions.map(() => 200));
    const again = await Promise.all(assertions.slice(0, odd.length).map(async (signed) => (await tokenWithAssertion(signed)).status));
    expect(again).toEqual(odd.map(() => 401));
    expect((await usageReasons(clientId)).filter((reason) => reason === 'assertion_replayed')).toHaveLength(odd.length);
  });

  it('takes no secret, and a secret keypair takes no assertion', async () => {
    const key = await clientKey();
    const clientId = await createPublicKeyKeypair([key]);
    const withSecret = await kg.http.post('/token').type('form').auth(clientId, 'kgs_0000000000000000000000000000000000000000000000000').send({ grant_type: 'client_credentials' });
    expect(withSecret.status).toBe(401);

    const secretKeypair = await kg.http.post(`/admin/v1/environments/${tenant.environmentId}/keypairs`).set('Authorization', admin.bearer).send({ name: 'secret one', scopes: ['read'] });
    expect(secretKeypair.body.credentialType).toBe('secret');
    const secretId = secretKeypair.body.clientId as string;
    expect((await tokenWithAssertion(await assertion(secretId, key), { client_id: secretId })).status).toBe(401);
    // The placeholder that stands for an assertion inside Keygate is no secret from outside.
    const placeholder = await kg.http.post('/token').type('form').send({ grant_type: 'client_credentials', client_id: clientId, client_secret: 'keygate:client-assertion' });
    expect(placeholder.status).toBe(401);

    expect(await usageReasons(clientId)).toEqual(['secret_not_accepted', 'secret_not_accepted']);
    expect(await usageReasons(secretId)).toEqual(['assertion_not_accepted']);
  });

  it('rotates by PATCH publicKeys: the new key works at once, the removed one from the next request on', async () => {
    const [oldKey, newKey] = [await clientKey(), await clientKey()];
    const clientId = await createPublicKeyKeypair([oldKey]);
    const patch = (keys: ClientKey[]) => kg.http.patch(`/admin/v1/keypairs/${clientId}`).set('Authorization', admin.bearer).send({ publicKeys: keys.map((key) => key.publicJwk) });

    expect((await patch([oldKey, newKey])).status).toBe(200);
    expect((await tokenWithAssertion(await assertion(clientId, newKey))).status).toBe(200);
    expect((await tokenWithAssertion(await assertion(clientId, oldKey))).status).toBe(200);

    expect((await patch([newKey])).status).toBe(200);
    expect((await tokenWithAssertion(await assertion(clientId, oldKey))).status).toBe(401);
    expect((await tokenWithAssertion(await assertion(clientId, newKey))).status).toBe(200);

    const rotate = await kg.http.post(`/admin/v1/keypairs/${clientId}/rotate`).set('Authorization', admin.bearer).send({});
    expect(rotate.status).toBe(409);
  });

  it('is refused once disabled, like a secret keypair', async () => {
    const key = await clientKey();
    const clientId = await createPublicKeyKeypair([key]);
    const disable = await kg.http.patch(`/admin/v1/keypairs/${clientId}`).set('Authorization', admin.bearer).send({ enabled: false, disabledReason: 'key leaked' });
    expect(disable.status).toBe(200);
    expect((await tokenWithAssertion(await assertion(clientId, key))).status).toBe(401);
    expect(await usageReasons(clientId)).toEqual(['keypair_disabled']);
  });
});

describe('requireDpop', () => {
  it('gives a public-key keypair that requires DPoP no token without a proof, and a bound one with it', async () => {
    const key = await clientKey();
    const clientId = await createPublicKeyKeypair([key], { requireDpop: true });
    const without = await tokenWithAssertion(await assertion(clientId, key));
    expect(without.status).toBe(400);
    expect(without.body.error).toBe('invalid_dpop_proof');

    const config = await client.discovery(new URL(kg.issuer), clientId, undefined, client.PrivateKeyJwt(key.privateKey), { execute: [client.allowInsecureRequests] });
    const DPoP = client.getDPoPHandle(config, await client.randomDPoPKeyPair('ES256'));
    const tokens = await client.clientCredentialsGrant(config, { scope: 'read' }, { DPoP });
    expect(tokens.token_type).toBe('dpop');
    expect(await usageReasons(clientId)).toEqual(['dpop_required', 'issued']);
  });
});

describe('tenancy', () => {
  it("an admin of another environment can neither make a public-key keypair here nor swap this one's keys", async () => {
    const key = await clientKey();
    const clientId = await createPublicKeyKeypair([key]);
    const elsewhere = await createTenant(kg.keygate);
    const stranger = await createUser(kg.keygate, { environments: [elsewhere] });
    const attackerKey = await clientKey();

    const create = await kg.http
      .post(`/admin/v1/environments/${tenant.environmentId}/keypairs`)
      .set('Authorization', stranger.bearer)
      .send({ name: 'planted', scopes: ['read'], publicKeys: [attackerKey.publicJwk] });
    expect([403, 404]).toContain(create.status);
    const swap = await kg.http.patch(`/admin/v1/keypairs/${clientId}`).set('Authorization', stranger.bearer).send({ publicKeys: [attackerKey.publicJwk] });
    expect([403, 404]).toContain(swap.status);

    // The stranger's key still gets nothing; the holder's still works.
    expect((await tokenWithAssertion(await assertion(clientId, attackerKey))).status).toBe(401);
    expect((await tokenWithAssertion(await assertion(clientId, key))).status).toBe(200);
  });
});
