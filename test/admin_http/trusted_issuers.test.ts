import { exportJWK, generateKeyPair } from 'jose';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditHistory } from '../../src/audit/query.js';
import { newId } from '../../src/shared/ids.js';
import { createUser, type TestUser } from '../support/admin.js';
import { createTenant, startTestKeygate, testDatabaseUrl, type Tenant, type TestKeygate } from '../support/keygate.js';
import { waitFor } from '../support/wait.js';

/*
 * Operators' trusted issuers (issue 17, federated keypairs): the CRUD round trip, what
 * it refuses, who may call it, and what a change tells the token path.
 */

let kg: TestKeygate;
let tenant: Tenant;
let other: Tenant;
let operator: TestUser;
let accountAdmin: TestUser;
let environmentAdmin: TestUser;
let otherAdmin: TestUser;

beforeAll(async () => {
  kg = await startTestKeygate();
  tenant = await createTenant(kg.keygate);
  other = await createTenant(kg.keygate);
  operator = await createUser(kg.keygate, { operator: true });
  accountAdmin = await createUser(kg.keygate, { accounts: [tenant.accountId] });
  environmentAdmin = await createUser(kg.keygate, { environments: [tenant] });
  otherAdmin = await createUser(kg.keygate, { accounts: [other.accountId] });
});
afterAll(() => kg.close());

type Method = 'get' | 'post' | 'patch' | 'delete';
const call = (method: Method, path: string, user: TestUser, body?: object, headers: Record<string, string> = {}) => {
  const request = kg.http[method](`/admin/v1${path}`).set('Authorization', user.bearer).set(headers);
  return body === undefined ? request : request.send(body);
};

/** An issuer URL no other test (or test file, on the shared database) uses. */
const uniqueIssuer = (host = 'issuer.example.test') => `https://${host}/${newId('trustedIssuer').slice(3, 15).toLowerCase()}`;

async function publicJwk() {
  const { publicKey } = await generateKeyPair('ES256', { extractable: true });
  return { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
}

async function createIssuer(body: object = {}) {
  const response = await call('post', '/trusted-issuers', operator, { issuer: uniqueIssuer(), name: 'Test issuer', ...body });
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  return response.body as { id: string; issuer: string; version: number };
}

/**
 * A federated keypair row using `issuerId`, written with knex: the admin API that
 * creates federated keypairs is being built at the same time by another change of
 * issue 17 (the keypair-api part), so this sets the row up as that API will store it.
 */
async function federatedKeypair(issuerId: string, owner: Tenant = tenant): Promise<string> {
  const clientId = newId('keypair');
  await kg.keygate.db.knex('keypairs').insert({
    client_id: clientId,
    account_id: owner.accountId,
    environment_id: owner.environmentId,
    name: 'federated',
    created_by: operator.id,
    credential_type: 'federated',
    federation_issuer_id: issuerId,
    federation_subject: 'system:serviceaccount:payments:api',
  });
  return clientId;
}

const fieldsOf = (body: { errors?: Array<{ field: string }> }) => (body.errors ?? []).map((error) => error.field);

async function listedIssuers(user: TestUser = operator): Promise<Array<{ id: string; issuer: string; keypairCount: number }>> {
  const response = await call('get', '/trusted-issuers', user);
  expect(response.status).toBe(200);
  return response.body.data;
}

describe('trusted issuers', () => {
  it('round trip: create, list, read, change, delete', async () => {
    const issuer = uniqueIssuer('token.actions.githubusercontent.com');
    const jwk = await publicJwk();
    const created = await call('post', '/trusted-issuers', operator, { issuer, name: 'GitHub Actions', jwks: { keys: [jwk] } });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      id: expect.stringMatching(/^ti_[0-9A-Za-z]{22}$/),
      issuer,
      name: 'GitHub Actions',
      jwksUri: null,
      jwks: { keys: [jwk] },
      audience: null,
      keypairCount: 0,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
      version: 1,
    });
    const { id } = created.body;
    expect(created.headers.location).toBe(`/admin/v1/trusted-issuers/${id}`);
    expect(created.headers.etag).toBe('"1"');

    expect((await listedIssuers()).find((listed) => listed.id === id)).toEqual(created.body);
    const read = await call('get', `/trusted-issuers/${id}`, operator);
    expect(read.body).toEqual(created.body);
    expect(read.headers.etag).toBe('"1"');

    // jwksUri replaces the inline keys: they come from one place.
    const changed = await call('patch', `/trusted-issuers/${id}`, operator, { name: 'GitHub', jwksUri: `${issuer}/.well-known/jwks`, audience: 'https://keygate.example.test' }, { 'If-Match': '"1"' });
    expect(changed.status, JSON.stringify(changed.body)).toBe(200);
    expect(changed.body).toMatchObject({ name: 'GitHub', jwksUri: `${issuer}/.well-known/jwks`, jwks: null, audience: 'https://keygate.example.test', version: 2 });
    expect(changed.headers.etag).toBe('"2"');
    // Back to discovery: both sources null.
    expect((await call('patch', `/trusted-issuers/${id}`, operator, { jwksUri: null })).body).toMatchObject({ jwksUri: null, jwks: null, version: 3 });

    expect((await call('delete', `/trusted-issuers/${id}`, operator)).status).toBe(204);
    expect((await call('get', `/trusted-issuers/${id}`, operator)).status).toBe(404);
    expect((await listedIssuers()).map((listed) => listed.id)).not.toContain(id);
  });

  it('refuses http on a host that is not loopback, naming the field; takes it on loopback', async () => {
    const plainIssuer = await call('post', '/trusted-issuers', operator, { issuer: 'http://issuer.example.test', name: 'Plain' });
    expect(plainIssuer.status).toBe(400);
    expect(plainIssuer.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(fieldsOf(plainIssuer.body)).toEqual(['issuer']);
    const plainJwksUri = await call('post', '/trusted-issuers', operator, { issuer: uniqueIssuer(), name: 'Plain keys', jwksUri: 'http://keys.example.test/jwks' });
    expect(fieldsOf(plainJwksUri.body)).toEqual(['jwksUri']);
    // 127.0.0.2 is loopback too; 127.0.0.1.example.test is not.
    expect(fieldsOf((await call('post', '/trusted-issuers', operator, { issuer: 'http://127.0.0.1.example.test/x', name: 'Lookalike' })).body)).toEqual(['issuer']);

    for (const loopback of ['http://127.0.0.2:8443', 'http://localhost:9000', 'http://[::1]:9001']) {
      const issuer = `${loopback}/${newId('trustedIssuer').slice(3, 12)}`;
      const created = await call('post', '/trusted-issuers', operator, { issuer, name: 'Local', jwksUri: `${loopback}/jwks` });
      expect(created.status, `${loopback}: ${JSON.stringify(created.body)}`).toBe(201);
      expect(created.body.issuer).toBe(issuer);
    }
    // A PATCH is held to the same rule.
    const { id } = await createIssuer();
    expect(fieldsOf((await call('patch', `/trusted-issuers/${id}`, operator, { issuer: 'http://cluster.example.test' })).body)).toEqual(['issuer']);
  });

  it('refuses jwksUri and jwks together', async () => {
    const issuer = uniqueIssuer();
    const both = await call('post', '/trusted-issuers', operator, { issuer, name: 'Both', jwksUri: `${issuer}/jwks`, jwks: { keys: [await publicJwk()] } });
    expect(both.status).toBe(400);
    expect(fieldsOf(both.body)).toEqual(['jwks']);
    const { id } = await createIssuer();
    expect(fieldsOf((await call('patch', `/trusted-issuers/${id}`, operator, { jwksUri: `${issuer}/jwks`, jwks: { keys: [await publicJwk()] } })).body)).toEqual(['jwks']);
    expect((await listedIssuers()).map((listed) => listed.issuer)).not.toContain(issuer);
  });

  it('refuses a private JWK, naming it, and writes nothing', async () => {
    const issuer = uniqueIssuer('kubernetes.default.svc');
    const { privateKey } = await generateKeyPair('RS256', { extractable: true });
    const refused = await call('post', '/trusted-issuers', operator, { issuer, name: 'Cluster', jwks: { keys: [await publicJwk(), await exportJWK(privateKey)] } });
    expect(refused.status).toBe(400);
    expect(refused.body.errors).toEqual([{ field: 'jwks.keys[1]', message: expect.stringMatching(/^must be a public key: remove its private members d, p, q, dp, dq, qi$/) }]);
    expect((await listedIssuers()).map((listed) => listed.issuer)).not.toContain(issuer);
    // A set that is no set, or holds no key, is named too (never a 500).
    expect((await call('post', '/trusted-issuers', operator, { issuer, name: 'Cluster', jwks: {} })).body.errors).toEqual([{ field: 'jwks.keys', message: 'is required' }]);
    expect((await call('post', '/trusted-issuers', operator, { issuer, name: 'Cluster', jwks: { keys: [] } })).body.errors).toEqual([{ field: 'jwks.keys', message: 'must hold at least one key' }]);
    expect(fieldsOf((await call('post', '/trusted-issuers', operator, { issuer, name: 'Cluster', jwks: { keys: Array.from({ length: 21 }, () => ({ kty: 'EC' })) } })).body)).toContain('jwks.keys');

    // Nor may a PATCH bring one in: the stored keys stay.
    const jwk = await publicJwk();
    const { id } = await createIssuer({ jwks: { keys: [jwk] } });
    const patched = await call('patch', `/trusted-issuers/${id}`, operator, { jwks: { keys: [{ kty: 'oct', k: 'c2VjcmV0' }] } });
    expect(fieldsOf(patched.body)).toEqual(['jwks.keys[0]']);
    expect((await call('get', `/trusted-issuers/${id}`, operator)).body).toMatchObject({ jwks: { keys: [jwk] }, version: 1 });
  });

  it('answers 409 for an issuer trusted already, on create and on change', async () => {
    const first = await createIssuer();
    const again = await call('post', '/trusted-issuers', operator, { issuer: first.issuer, name: 'Again' });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('conflict');
    const second = await createIssuer();
    expect((await call('patch', `/trusted-issuers/${second.id}`, operator, { issuer: first.issuer })).status).toBe(409);
    expect((await call('get', `/trusted-issuers/${second.id}`, operator)).body.issuer).toBe(second.issuer);
  });

  it('is changed by operators only; every admin reads it, counting only its own keypairs', async () => {
    const { id, issuer } = await createIssuer();
    await federatedKeypair(id, tenant);
    await federatedKeypair(id, other);
    for (const admin of [accountAdmin, environmentAdmin]) {
      const created = await call('post', '/trusted-issuers', admin, { issuer: uniqueIssuer(), name: 'Mine' });
      expect(created.status).toBe(403);
      expect(created.body.code).toBe('forbidden');
      expect((await call('patch', `/trusted-issuers/${id}`, admin, { name: 'Mine' })).status).toBe(403);
      expect((await call('delete', `/trusted-issuers/${id}`, admin)).status).toBe(403);
    }
    expect((await call('get', `/trusted-issuers/${id}`, operator)).body).toMatchObject({ issuer, name: 'Test issuer', keypairCount: 2, version: 1 });
    expect((await call('get', `/trusted-issuers/${id}`, environmentAdmin)).body.keypairCount).toBe(1);
    expect((await listedIssuers(otherAdmin)).find((listed) => listed.id === id)?.keypairCount).toBe(1);
  });

  it('will not delete an issuer keypairs use: 409 saying how many, and nothing deleted', async () => {
    const { id } = await createIssuer();
    const clientIds = [await federatedKeypair(id), await federatedKeypair(id)];
    const refused = await call('delete', `/trusted-issuers/${id}`, operator);
    expect(refused.status).toBe(409);
    expect(refused.body.detail).toBe('2 keypairs use this trusted issuer; delete them first.');
    expect((await call('get', `/trusted-issuers/${id}`, operator)).body.keypairCount).toBe(2);

    await kg.keygate.db.knex('keypairs').whereIn('client_id', clientIds).delete();
    expect((await call('delete', `/trusted-issuers/${id}`, operator)).status).toBe(204);
  });

  it('a change bumps the version, is audited, and tells every process to re-read the keypairs using it', async () => {
    const { id } = await createIssuer({ audience: 'https://keygate.example.test' });
    const clientId = await federatedKeypair(id);
    const unrelated = await federatedKeypair((await createIssuer()).id);
    const heard: string[] = [];
    kg.keygate.changes.subscribe((changed) => heard.push(changed));
    // On PostgreSQL the notice must also leave this process: listen as another process would.
    const listener = process.env.TEST_DATABASE_URL ? new pg.Client({ connectionString: testDatabaseUrl() }) : undefined;
    const notified: string[] = [];
    if (listener) {
      await listener.connect();
      listener.on('notification', (message) => notified.push(...(message.payload ?? '').split(',')));
      await listener.query('LISTEN keygate_keypair_changed');
    }
    try {
      expect((await call('patch', `/trusted-issuers/${id}`, operator, { audience: null }, { 'If-Match': '"7"' })).status).toBe(412);
      const changed = await call('patch', `/trusted-issuers/${id}`, operator, { audience: null }, { 'If-Match': '"1"' });
      expect(changed.status).toBe(200);
      expect(changed.body).toMatchObject({ audience: null, version: 2 });
      expect(heard).toContain(clientId);
      expect(heard).not.toContain(unrelated);
      if (listener) {
        await waitFor(() => notified.includes(clientId));
        expect(notified).not.toContain(unrelated);
      }

      const events = await new AuditHistory(kg.keygate.db.knex).list({ targetId: id }, { limit: 10 });
      expect(events.map((event) => event.action)).toEqual(['trusted_issuer.updated', 'trusted_issuer.created']);
      expect(events[0]).toMatchObject({ actor: { type: 'operator', id: operator.id }, target: { type: 'trusted_issuer', id }, before: { audience: 'https://keygate.example.test' }, after: { audience: null, keypairsNotified: 1 } });

      // A change that changes nothing: no version, no event.
      expect((await call('patch', `/trusted-issuers/${id}`, operator, { audience: null })).body.version).toBe(2);
      expect(await new AuditHistory(kg.keygate.db.knex).list({ targetId: id }, { limit: 10 })).toHaveLength(2);
    } finally {
      await listener?.end();
    }
  });
});
