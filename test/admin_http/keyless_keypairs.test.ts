import { generateKeyPairSync } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../src/shared/ids.js';
import { createUser, type TestUser } from '../support/admin.js';
import { createTenant, startTestKeygate, type Tenant, type TestKeygate } from '../support/keygate.js';

/*
 * Keypairs with no secret through the admin API: public_key (the client's own public
 * JWKs, private_key_jwt) and federated (a trusted issuer's tokens), and requireDpop.
 */

let kg: TestKeygate;
let tenant: Tenant;
let admin: TestUser;
let issuer: string;

/** A fresh key pair's public JWK, as a client would send it. */
async function publicJwk(alg: 'ES256' | 'ES384' | 'RS256' | 'EdDSA'): Promise<JWK> {
  const { publicKey } = await generateKeyPair(alg, { extractable: true });
  return exportJWK(publicKey);
}

/** An RSA public key too short to accept (jose will not make one: node:crypto does). */
const shortRsaJwk = () => generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'jwk' }) as JWK;

async function privateJwk(alg: 'ES256'): Promise<JWK> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  return exportJWK(privateKey);
}

beforeAll(async () => {
  kg = await startTestKeygate();
  tenant = await createTenant(kg.keygate);
  admin = await createUser(kg.keygate, { environments: [tenant] });
  // Trusted issuers get their admin API from another change: rows written directly here.
  issuer = `https://${newId('trustedIssuer').slice(3, 13).toLowerCase()}.cluster.test`;
  const now = new Date();
  await kg.keygate.db.knex('trusted_issuers').insert({ id: newId('trustedIssuer'), issuer, name: 'test cluster', created_by: 'test', created_at: now, updated_at: now });
});
afterAll(() => kg.close());

const api = {
  get: (path: string) => kg.http.get(`/admin/v1${path}`).set('Authorization', admin.bearer),
  post: (path: string, body: object) => kg.http.post(`/admin/v1${path}`).set('Authorization', admin.bearer).send(body),
  patch: (path: string, body: object) => kg.http.patch(`/admin/v1${path}`).set('Authorization', admin.bearer).send(body),
};
const create = (body: object) => api.post(`/environments/${tenant.environmentId}/keypairs`, { name: 'keyless', scopes: ['read'], ...body });
const listedIds = async () => ((await api.get(`/environments/${tenant.environmentId}/keypairs?limit=100`)).body.data as Array<{ clientId: string }>).map((keypair) => keypair.clientId);

async function events(clientId: string) {
  return (await api.get(`/keypairs/${clientId}/events`)).body.data as Array<{ action: string; before: Record<string, unknown> | null; after: Record<string, unknown> }>;
}

describe('public_key keypairs', () => {
  it('create stores the public members with their thumbprint, answers without a secret, and keeps one unusable secret row', async () => {
    const jwk = await publicJwk('ES256');
    const response = await create({ publicKeys: [{ ...jwk, kid: 'laptop-1', use: 'sig' }] });
    expect(response.status).toBe(201);
    expect(response.body).not.toHaveProperty('clientSecret');
    expect(response.body).toMatchObject({ credentialType: 'public_key', secretHint: null, federation: null, requireDpop: false, version: 1 });
    expect(response.body.publicKeys).toEqual([
      { thumbprint: await calculateJwkThumbprint(jwk, 'sha256'), jwk: { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y, kid: 'laptop-1' }, addedAt: kg.clock.now().toISOString() },
    ]);
    expect((await api.get(`/keypairs/${response.body.clientId}`)).body).toEqual(response.body);

    const secrets = await kg.keygate.db.knex('keypair_secrets').where({ client_id: response.body.clientId });
    expect(secrets).toHaveLength(1);
    expect(secrets[0]).toMatchObject({ expires_at: null, status_idx: expect.any(Number) });

    const [created] = await events(response.body.clientId);
    expect(created!.after).toMatchObject({ credentialType: 'public_key', thumbprints: [response.body.publicKeys[0].thumbprint], requireDpop: false });
    expect(JSON.stringify(created!.after)).not.toContain(jwk.x);
    const [notice] = await kg.keygate.db.knex('notification_outbox').where({ client_id: response.body.clientId, event: 'keypair.created' });
    expect(notice.payload).toMatchObject({ credentialType: 'public_key', thumbprints: [response.body.publicKeys[0].thumbprint] });
    expect(notice.payload).not.toHaveProperty('secretHint');
  });

  it('takes EC P-384, RSA 2048 and Ed25519 keys too', async () => {
    const keys = await Promise.all([publicJwk('ES384'), publicJwk('RS256'), publicJwk('EdDSA')]);
    const response = await create({ publicKeys: keys });
    expect(response.status).toBe(201);
    expect(response.body.publicKeys.map((key: { thumbprint: string }) => key.thumbprint)).toEqual(await Promise.all(keys.map((key) => calculateJwkThumbprint(key, 'sha256'))));
  });

  it('refuses a private JWK, naming it, and writes nothing', async () => {
    const before = await listedIds();
    const response = await create({ publicKeys: [await publicJwk('ES256'), await privateJwk('ES256')] });
    expect(response.status).toBe(400);
    expect(response.headers['content-type']).toContain('application/problem+json');
    expect(response.body.errors).toEqual([{ field: 'publicKeys[1]', message: 'is a private key: send its public part only' }]);
    expect(await listedIds()).toEqual(before);
  });

  it.each([
    ['an RSA key under 2048 bits', async () => [shortRsaJwk()], 'publicKeys[0]', /RSA key of 1024 bits/],
    ['an unsupported curve', async () => [{ kty: 'EC', crv: 'P-521', x: 'AA', y: 'AA' }], 'publicKeys[0]', /must be an EC P-256 or P-384/],
    ['a symmetric key', async () => [{ kty: 'oct', k: 'c2VjcmV0' }], 'publicKeys[0]', /private key/],
    ['a point that is not on the curve', async () => [{ ...(await publicJwk('ES256')), y: Buffer.alloc(32, 7).toString('base64url') }], 'publicKeys[0]', /cannot be loaded|can be loaded/],
    ['an alg the key cannot sign with', async () => [{ ...(await publicJwk('ES256')), alg: 'RS256' }], 'publicKeys[0]', /"alg"/],
    ['the same key twice', async () => { const key = await publicJwk('EdDSA'); return [key, { ...key, kid: 'again' }]; }, 'publicKeys[1]', /same thumbprint/],
    ['six keys', async () => Promise.all(Array.from({ length: 6 }, () => publicJwk('ES256'))), 'publicKeys', /at most 5/],
    ['no key', async () => [], 'publicKeys', /1 to 5/],
  ])('refuses %s (400 naming the field, nothing written)', async (_, keys, field, message) => {
    const before = await listedIds();
    const response = await create({ publicKeys: await keys() });
    expect(response.status).toBe(400);
    expect(response.body.errors).toEqual([{ field, message: expect.stringMatching(message) }]);
    expect(await listedIds()).toEqual(before);
  });

  it('refuses publicKeys and federation together', async () => {
    const response = await create({ publicKeys: [await publicJwk('ES256')], federation: { issuer, subject: 'system:serviceaccount:a:b' } });
    expect(response.status).toBe(400);
    expect(response.body.errors).toEqual([{ field: 'federation', message: 'give publicKeys or federation, not both' }]);
  });

  it('rotate answers 409: a public-key keypair is rotated by PATCH publicKeys', async () => {
    const created = await create({ publicKeys: [await publicJwk('ES256')] });
    const response = await api.post(`/keypairs/${created.body.clientId}/rotate`, {});
    expect(response.status).toBe(409);
    expect(response.body).toMatchObject({ code: 'conflict', detail: 'a public-key keypair is rotated by PATCH publicKeys: add the new key, remove the old one later' });
    expect((await api.get(`/keypairs/${created.body.clientId}`)).body.version).toBe(1);
  });

  it('PATCH publicKeys adds and removes keys: a kept key keeps addedAt, each change bumps the version and is audited by thumbprint', async () => {
    const [first, second] = await Promise.all([publicJwk('ES256'), publicJwk('EdDSA')]);
    const created = await create({ publicKeys: [first] });
    const clientId = created.body.clientId as string;
    const [firstPrint, secondPrint] = await Promise.all([calculateJwkThumbprint(first!, 'sha256'), calculateJwkThumbprint(second!, 'sha256')]);
    const addedFirst = kg.clock.now().toISOString();
    kg.clock.advance(60);

    const added = await api.patch(`/keypairs/${clientId}`, { publicKeys: [first, second] });
    expect(added.status).toBe(200);
    expect(added.body.version).toBe(2);
    expect(added.body.publicKeys.map((key: { thumbprint: string; addedAt: string }) => [key.thumbprint, key.addedAt])).toEqual([
      [firstPrint, addedFirst],
      [secondPrint, kg.clock.now().toISOString()],
    ]);

    const removed = await api.patch(`/keypairs/${clientId}`, { publicKeys: [second] });
    expect(removed.body.version).toBe(3);
    expect(removed.body.publicKeys.map((key: { thumbprint: string }) => key.thumbprint)).toEqual([secondPrint]);

    const [removal, addition] = await events(clientId);
    expect(addition).toMatchObject({ action: 'keypair.updated', before: { publicKeys: [firstPrint] }, after: { publicKeys: [firstPrint, secondPrint] } });
    expect(removal).toMatchObject({ action: 'keypair.updated', before: { publicKeys: [firstPrint, secondPrint] }, after: { publicKeys: [secondPrint] } });
  });

  it('PATCH publicKeys checks each key as create does', async () => {
    const created = await create({ publicKeys: [await publicJwk('ES256')] });
    const response = await api.patch(`/keypairs/${created.body.clientId}`, { publicKeys: [await privateJwk('ES256')] });
    expect(response.status).toBe(400);
    expect(response.body.errors).toEqual([{ field: 'publicKeys[0]', message: 'is a private key: send its public part only' }]);
    expect((await api.get(`/keypairs/${created.body.clientId}`)).body.version).toBe(1);
  });
});

describe('federated keypairs', () => {
  it('create names a trusted issuer, a subject and claims, and answers without a secret', async () => {
    const federation = { issuer, subject: 'system:serviceaccount:payments:api', claims: { 'kubernetes.io/namespace': 'payments' } };
    const response = await create({ federation });
    expect(response.status).toBe(201);
    expect(response.body).not.toHaveProperty('clientSecret');
    expect(response.body).toMatchObject({ credentialType: 'federated', federation, publicKeys: [], secretHint: null });
    expect(await kg.keygate.db.knex('keypair_secrets').where({ client_id: response.body.clientId })).toHaveLength(1);
    const [created] = await events(response.body.clientId);
    expect(created!.after).toMatchObject({ credentialType: 'federated', federation });
  });

  it('refuses an issuer that is not trusted, naming federation.issuer, and writes nothing', async () => {
    const before = await listedIds();
    const response = await create({ federation: { issuer: 'https://unknown.example', subject: 's' } });
    expect(response.status).toBe(400);
    expect(response.body.errors).toEqual([{ field: 'federation.issuer', message: expect.stringContaining('is not a trusted issuer') }]);
    expect(await listedIds()).toEqual(before);
  });

  it.each([
    [{ issuer: 'x', subject: '' }, 'federation.subject'],
    [{ issuer: 'x', subject: 's', claims: { sub: 'other' } }, 'federation.claims'],
    [{ issuer: 'x', subject: 's', claims: { ref: 1 } }, 'federation.claims'],
    [{ issuer: 'x', subject: 's', claims: Object.fromEntries(Array.from({ length: 11 }, (_, index) => [`c${index}`, 'v'])) }, 'federation.claims'],
    [{ issuer: 'x', subject: 's', audience: 'a' }, 'federation.audience'],
  ])('refuses federation %j naming %s', async (federation, field) => {
    const response = await create({ federation });
    expect(response.status).toBe(400);
    expect(response.body.errors.map((error: { field: string }) => error.field)).toEqual([field]);
  });

  it('rotate answers 409; PATCH changes subject and claims, not the issuer', async () => {
    const created = await create({ federation: { issuer, subject: 'repo:acme/api:ref:refs/heads/main', claims: { repository: 'acme/api' } } });
    const clientId = created.body.clientId as string;
    const rotate = await api.post(`/keypairs/${clientId}/rotate`, {});
    expect(rotate.status).toBe(409);
    expect(rotate.body.code).toBe('conflict');

    const patched = await api.patch(`/keypairs/${clientId}`, { federation: { subject: 'repo:acme/api:environment:prod', claims: { environment: 'prod' } } });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ version: 2, federation: { issuer, subject: 'repo:acme/api:environment:prod', claims: { environment: 'prod' } } });
    const [update] = await events(clientId);
    expect(update).toMatchObject({ action: 'keypair.updated', before: { federation: { subject: 'repo:acme/api:ref:refs/heads/main' } }, after: { federation: { claims: { environment: 'prod' } } } });

    const moved = await api.patch(`/keypairs/${clientId}`, { federation: { issuer: 'https://elsewhere.example' } });
    expect(moved.status).toBe(400);
    expect(moved.body.errors).toEqual([{ field: 'federation.issuer', message: expect.stringContaining('cannot change') }]);
  });
});

describe('credential types and requireDpop', () => {
  it('a secret keypair shows its type and refuses publicKeys or federation with 409 naming its type', async () => {
    const created = await create({});
    expect(created.body).toMatchObject({ credentialType: 'secret', publicKeys: [], federation: null, requireDpop: false, clientSecret: expect.stringMatching(/^kgs_/) });
    const keys = await api.patch(`/keypairs/${created.body.clientId}`, { publicKeys: [await publicJwk('ES256')] });
    expect(keys.status).toBe(409);
    expect(keys.headers['content-type']).toContain('application/problem+json');
    expect(keys.body).toMatchObject({ code: 'conflict', detail: expect.stringContaining('credential type is secret') });
    const federation = await api.patch(`/keypairs/${created.body.clientId}`, { federation: { subject: 's' } });
    expect(federation.status).toBe(409);
    expect((await api.get(`/keypairs/${created.body.clientId}`)).body.version).toBe(1);
  });

  it('federation on a public_key keypair is a 409 too', async () => {
    const created = await create({ publicKeys: [await publicJwk('ES256')] });
    const response = await api.patch(`/keypairs/${created.body.clientId}`, { federation: { subject: 's' } });
    expect(response.status).toBe(409);
    expect(response.body.detail).toContain('credential type is public_key');
  });

  it('requireDpop is shown, set at create and patched on any type, audited', async () => {
    const keyed = await create({ publicKeys: [await publicJwk('ES256')], requireDpop: true });
    expect(keyed.body.requireDpop).toBe(true);
    const secret = await create({});
    const patched = await api.patch(`/keypairs/${secret.body.clientId}`, { requireDpop: true });
    expect(patched.body).toMatchObject({ requireDpop: true, version: 2 });
    const [update] = await events(secret.body.clientId);
    expect(update).toMatchObject({ action: 'keypair.updated', before: { requireDpop: false }, after: { requireDpop: true } });
    expect((await api.patch(`/keypairs/${secret.body.clientId}`, { requireDpop: 'yes' })).body.errors).toEqual([{ field: 'requireDpop', message: 'must be true or false' }]);
  });
});
