import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser, type TestUser } from '../support/admin.js';
import { createKeypair, createTenant, requestToken, startTestKeygate, TEST_ISSUER, type Tenant, type TestKeygate } from '../support/keygate.js';

/**
 * Input that once reached PostgreSQL or oidc-provider and came back as a 500: each is
 * now a precise 4xx naming the field (problem+json), or an RFC 6749 answer on /token,
 * and nothing is written.
 */
let kg: TestKeygate;
let tenant: Tenant;
let admin: TestUser;
let operator: TestUser;

beforeAll(async () => {
  kg = await startTestKeygate();
  tenant = await createTenant(kg.keygate);
  admin = await createUser(kg.keygate, { accounts: [tenant.accountId] });
  operator = await createUser(kg.keygate, { operator: true });
});
afterAll(() => kg.close());

const as = (user: TestUser) => ({
  post: (path: string, body: unknown) => kg.http.post(`/admin/v1${path}`).set('Authorization', user.bearer).send(body as object),
  patch: (path: string, body: unknown) => kg.http.patch(`/admin/v1${path}`).set('Authorization', user.bearer).send(body as object),
  get: (path: string) => kg.http.get(`/admin/v1${path}`).set('Authorization', user.bearer),
});

function expectFieldError(response: { status: number; headers: Record<string, string>; body: { errors?: Array<{ field: string }> } }, field: string) {
  expect(response.status, JSON.stringify(response.body)).toBe(400);
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(response.body.errors?.map((error) => error.field)).toContain(field);
}

/** Events written by this file's admins (other files may write at the same time on PostgreSQL). */
const auditCount = async () => Number((await kg.keygate.db.knex('audit_events').whereIn('actor_id', [admin.id, operator.id]).count<{ count: number }[]>({ count: '*' }))[0]!.count);

describe('no 5xx from input', () => {
  it('a DPoP header that is no proof, or a proof signed with another key than its jwk, is a 400 invalid_dpop_proof', async () => {
    const { keypair, clientSecret } = await createKeypair(kg.keygate, { owner: { environmentId: tenant.environmentId } });
    const { privateKey } = await generateKeyPair('ES256');
    const { publicKey: otherPublicKey } = await generateKeyPair('ES256');
    const forged = await new SignJWT({ htm: 'POST', htu: `${TEST_ISSUER}/token` })
      .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: await exportJWK(otherPublicKey) })
      .setIssuedAt()
      .setJti(crypto.randomUUID())
      .sign(privateKey);
    for (const header of ['not a jwt', 'a.b.c', forged]) {
      const response = await requestToken(kg.http, { clientId: keypair.clientId, clientSecret }).set('Host', new URL(TEST_ISSUER).host).set('DPoP', header);
      expect(response.status, JSON.stringify(response.body)).toBe(400);
      expect(response.body.error).toBe('invalid_dpop_proof');
    }
  });

  it('a crafted list or history cursor is a 400 naming cursor', async () => {
    const { keypair } = await createKeypair(kg.keygate, { owner: { environmentId: tenant.environmentId } });
    const cursor = (parts: unknown) => Buffer.from(JSON.stringify(parts)).toString('base64url');
    for (const crafted of [
      cursor(['2026-01-01T00:00:00.000Z', 'kp_\u0000']),
      cursor(['2026-01-01T00:00:00.000Z', '\uD800']),
      cursor(['0000-01-01T00:00:00.000Z', 'kp_x']),
      cursor(['+275760-09-13T00:00:00.000Z', 'kp_x']),
      cursor(['-271821-04-20T00:00:00.000Z', 'kp_x']),
      cursor(['2026-01-01\u0000', 'kp_x']),
      cursor([1, 2]),
      'not a cursor',
    ]) {
      expectFieldError(await as(admin).get(`/environments/${tenant.environmentId}/keypairs?cursor=${encodeURIComponent(crafted)}`), 'cursor');
    }
    for (const crafted of [cursor(['\u0000']), cursor(['1e400']), cursor(['-1']), cursor(['1.5']), cursor(['99999999999999999999']), cursor(['\uD800'])]) {
      expectFieldError(await as(admin).get(`/keypairs/${keypair.clientId}/events?cursor=${encodeURIComponent(crafted)}`), 'cursor');
      expectFieldError(await as(admin).get(`/accounts/${tenant.accountId}/events?cursor=${encodeURIComponent(crafted)}`), 'cursor');
    }
  });

  it('expiresAt outside what the database can hold is a 400 naming expiresAt', async () => {
    const before = await auditCount();
    for (const expiresAt of ['0000-01-01T00:00:00Z', '+275760-09-13T00:00:00Z', '10000-01-01T00:00:00Z', '9999-12-31T23:59:59-01:00', '9999-12-31T23:59:60Z']) {
      expectFieldError(await as(admin).post(`/environments/${tenant.environmentId}/keypairs`, { name: 'far', scopes: [], expiresAt }), 'expiresAt');
    }
    for (const from of ['0000-01-01T00:00:00Z', '+275760-09-13T00:00:00Z']) {
      expectFieldError(await as(admin).get(`/accounts/${tenant.accountId}/events?from=${encodeURIComponent(from)}`), 'from');
    }
    // The latest accepted date is the named maximum's last second.
    const last = await as(admin).post(`/environments/${tenant.environmentId}/keypairs`, { name: 'last', scopes: [], expiresAt: '9999-12-31T23:59:59Z' });
    expect(last.status, JSON.stringify(last.body)).toBe(201);
    expect(await auditCount()).toBe(before + 1);
  });

  it('a lone surrogate in any string field of any body is a 400 naming the field', async () => {
    const { keypair } = await createKeypair(kg.keygate, { owner: { environmentId: tenant.environmentId } });
    const before = await auditCount();
    const lone = '\uD800';
    const cases: Array<[ReturnType<typeof as>['post'] | ReturnType<typeof as>['patch'], string, Record<string, unknown>, string]> = [
      [as(admin).post, `/environments/${tenant.environmentId}/keypairs`, { name: `a${lone}`, scopes: [] }, 'name'],
      [as(admin).post, `/environments/${tenant.environmentId}/keypairs`, { name: 'a', comment: `x${lone}y`, scopes: [] }, 'comment'],
      [as(admin).patch, `/keypairs/${keypair.clientId}`, { comment: `\uDC00` }, 'comment'],
      [as(admin).patch, `/keypairs/${keypair.clientId}`, { enabled: false, disabledReason: `why${lone}` }, 'disabledReason'],
      [as(operator).post, '/accounts', { name: lone }, 'name'],
      [as(operator).patch, `/accounts/${tenant.accountId}`, { name: lone }, 'name'],
      [as(admin).post, `/accounts/${tenant.accountId}/environments`, { name: `e${lone}` }, 'name'],
      [as(admin).patch, `/environments/${tenant.environmentId}`, { name: `e${lone}` }, 'name'],
      [as(operator).post, '/users', { email: 'lone@example.test', name: `n${lone}` }, 'name'],
      [as(operator).patch, `/users/${admin.id}`, { name: `n${lone}` }, 'name'],
      [as(operator).post, '/resource-servers', { identifier: 'https://lone.example.test/', name: `r${lone}`, scopes: [] }, 'name'],
      [as(operator).post, '/resource-servers', { identifier: 'https://lone.example.test/', name: 'r', scopes: [{ name: 'read', description: `d${lone}` }] }, 'scopes[0].description'],
    ];
    for (const [send, path, body, field] of cases) {
      const response = await send(path, JSON.parse(JSON.stringify(body)));
      expectFieldError(response, field);
    }
    // The raw bytes of the escape in the JSON text, as a hostile client sends them.
    const raw = await kg.http.post(`/admin/v1/environments/${tenant.environmentId}/keypairs`).set('Authorization', admin.bearer).set('Content-Type', 'application/json').send('{"name":"k","scopes":[],"comment":"\\ud800"}');
    expectFieldError(raw, 'comment');
    // A field name with one is named JSON-escaped, so the answer holds none.
    const key = await kg.http.post(`/admin/v1/environments/${tenant.environmentId}/keypairs`).set('Authorization', admin.bearer).set('Content-Type', 'application/json').send('{"name":"k","scopes":[],"\\ud800":1}');
    expectFieldError(key, '\\ud800');
    expect(await auditCount()).toBe(before);
  });
});

describe('concurrent creates of the same thing: one 201, one 409', () => {
  it('two users with one email', async () => {
    const email = `race-${Date.now()}@example.test`;
    const responses = await Promise.all([as(operator).post('/users', { email, name: 'one' }), as(operator).post('/users', { email: email.toUpperCase(), name: 'two' })]);
    expect(responses.map((response) => response.status).sort()).toEqual([201, 409]);
    const conflict = responses.find((response) => response.status === 409)!;
    expect(conflict.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(conflict.body.code).toBe('conflict');
    expect(Number((await kg.keygate.db.knex('users').whereRaw('lower(email) = ?', [email]).count<{ count: number }[]>({ count: '*' }))[0]!.count)).toBe(1);
  });

  it('two grants of one admin role: one 201, one 200 (granting twice changes nothing)', async () => {
    const user = await createUser(kg.keygate);
    const responses = await Promise.all([0, 1].map(() => kg.http.put(`/admin/v1/accounts/${tenant.accountId}/admins/${user.id}`).set('Authorization', operator.bearer)));
    expect(responses.map((response) => response.status).sort()).toEqual([200, 201]);
  });

  it('two invitations of one known address at once: one 201, one 200', async () => {
    const { email } = await createUser(kg.keygate);
    const responses = await Promise.all([0, 1].map(() => kg.http.put(`/admin/v1/accounts/${tenant.accountId}/admins/${encodeURIComponent(email)}`).set('Authorization', operator.bearer)));
    expect(responses.map((response) => response.status).sort()).toEqual([200, 201]);
    expect(responses[0]!.body.userId).toBe(responses[1]!.body.userId);
  });

  it('two resource servers with one identifier', async () => {
    const identifier = `https://race-${Date.now()}.example.test/`;
    const responses = await Promise.all([0, 1].map((n) => as(operator).post('/resource-servers', { identifier, name: `race ${n}`, scopes: [] })));
    expect(responses.map((response) => response.status).sort()).toEqual([201, 409]);
    expect(responses.find((response) => response.status === 409)!.body.code).toBe('conflict');
    expect(Number((await kg.keygate.db.knex('resource_servers').where({ identifier }).count<{ count: number }[]>({ count: '*' }))[0]!.count)).toBe(1);
  });
});
