import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import type supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKey } from '../../src/signing/keystore.js';
import { mintAdminToken } from '../../src/signing/admin_token.js';
import { adminToken, createUser, type TestUser } from '../support/admin.js';
import { createKeypair, OPERATOR, startTestKeygate, TEST_ISSUER, type TestKeygate } from '../support/keygate.js';

/**
 * The tenancy suite: two accounts, environments in each, and one caller per role.
 * Every admin route is called by every role; each sees and touches exactly what the
 * rule allows, and what it may not see answers 404, like something that does not exist.
 */
type Role = 'operator' | 'accountAdmin' | 'environmentAdmin' | 'outsider';
const ROLES: Role[] = ['operator', 'accountAdmin', 'environmentAdmin', 'outsider'];

let kg: TestKeygate;
let users: Record<Role, TestUser>;
let a: { accountId: string; env1: string; env2: string };
let b: { accountId: string; env1: string };
let keypairs: { accountLevel: string; env1: string; env2: string; otherAccount: string };
let spareUser: TestUser;

beforeAll(async () => {
  kg = await startTestKeygate();
  const t = kg.keygate.tenancy;
  const accountA = await t.createAccount(OPERATOR, 'Account A');
  const accountB = await t.createAccount(OPERATOR, 'Account B');
  a = { accountId: accountA.id, env1: (await t.createEnvironment(OPERATOR, accountA.id, 'a-one')).id, env2: (await t.createEnvironment(OPERATOR, accountA.id, 'a-two')).id };
  b = { accountId: accountB.id, env1: (await t.createEnvironment(OPERATOR, accountB.id, 'b-one')).id };
  users = {
    operator: await createUser(kg.keygate, { operator: true }),
    accountAdmin: await createUser(kg.keygate, { accounts: [a.accountId] }),
    environmentAdmin: await createUser(kg.keygate, { environments: [{ environmentId: a.env1, accountId: a.accountId }] }),
    outsider: await createUser(kg.keygate, { environments: [{ environmentId: b.env1, accountId: b.accountId }] }),
  };
  spareUser = await createUser(kg.keygate, { environments: [{ environmentId: b.env1, accountId: b.accountId }] });
  keypairs = {
    accountLevel: (await createKeypair(kg.keygate, { owner: { accountId: a.accountId } })).keypair.clientId,
    env1: (await createKeypair(kg.keygate, { owner: { environmentId: a.env1 } })).keypair.clientId,
    env2: (await createKeypair(kg.keygate, { owner: { environmentId: a.env2 } })).keypair.clientId,
    otherAccount: (await createKeypair(kg.keygate, { owner: { environmentId: b.env1 } })).keypair.clientId,
  };
});
afterAll(() => kg.close());

type Method = 'get' | 'post' | 'patch' | 'put' | 'delete';
interface Case {
  readonly name: string;
  /** Builds the request for one role; runs after the fixtures exist (fresh objects may be made here). */
  readonly request: (role: Role) => Promise<{ method: Method; path: string; body?: object }>;
  readonly expect: Record<Role, number>;
}

const call = (role: Role, method: Method, path: string, body?: object): supertest.Test => {
  const request = kg.http[method](`/admin/v1${path}`).set('Authorization', users[role].bearer);
  return body === undefined ? request : request.send(body);
};

const freshKeypairIn = async (environmentId: string) => (await createKeypair(kg.keygate, { owner: { environmentId } })).keypair.clientId;

const CASES: Case[] = [
  { name: 'GET account keypairs', request: async () => ({ method: 'get', path: `/accounts/${a.accountId}/keypairs` }), expect: { operator: 200, accountAdmin: 200, environmentAdmin: 404, outsider: 404 } },
  { name: 'POST account keypair', request: async () => ({ method: 'post', path: `/accounts/${a.accountId}/keypairs`, body: { name: 'k', scopes: ['read'] } }), expect: { operator: 201, accountAdmin: 201, environmentAdmin: 404, outsider: 404 } },
  { name: 'GET own environment keypairs', request: async () => ({ method: 'get', path: `/environments/${a.env1}/keypairs` }), expect: { operator: 200, accountAdmin: 200, environmentAdmin: 200, outsider: 404 } },
  { name: 'POST own environment keypair', request: async () => ({ method: 'post', path: `/environments/${a.env1}/keypairs`, body: { name: 'k', scopes: ['read'] } }), expect: { operator: 201, accountAdmin: 201, environmentAdmin: 201, outsider: 404 } },
  { name: 'GET sibling environment keypairs', request: async () => ({ method: 'get', path: `/environments/${a.env2}/keypairs` }), expect: { operator: 200, accountAdmin: 200, environmentAdmin: 404, outsider: 404 } },
  { name: 'POST sibling environment keypair', request: async () => ({ method: 'post', path: `/environments/${a.env2}/keypairs`, body: { name: 'k', scopes: ['read'] } }), expect: { operator: 201, accountAdmin: 201, environmentAdmin: 404, outsider: 404 } },
  { name: 'GET keypair in own environment', request: async () => ({ method: 'get', path: `/keypairs/${keypairs.env1}` }), expect: { operator: 200, accountAdmin: 200, environmentAdmin: 200, outsider: 404 } },
  { name: 'GET keypair in sibling environment', request: async () => ({ method: 'get', path: `/keypairs/${keypairs.env2}` }), expect: { operator: 200, accountAdmin: 200, environmentAdmin: 404, outsider: 404 } },
  { name: 'GET account-level keypair', request: async () => ({ method: 'get', path: `/keypairs/${keypairs.accountLevel}` }), expect: { operator: 200, accountAdmin: 200, environmentAdmin: 404, outsider: 404 } },
  { name: 'GET keypair of another account', request: async () => ({ method: 'get', path: `/keypairs/${keypairs.otherAccount}` }), expect: { operator: 200, accountAdmin: 404, environmentAdmin: 404, outsider: 200 } },
  { name: 'PATCH keypair in own environment', request: async () => ({ method: 'patch', path: `/keypairs/${keypairs.env1}`, body: { comment: 'x' } }), expect: { operator: 200, accountAdmin: 200, environmentAdmin: 200, outsider: 404 } },
  { name: 'PATCH keypair in sibling environment', request: async (role) => ({ method: 'patch', path: `/keypairs/${keypairs.env2}`, body: { comment: role } }), expect: { operator: 200, accountAdmin: 200, environmentAdmin: 404, outsider: 404 } },
  { name: 'rotate keypair in sibling environment', request: async () => ({ method: 'post', path: `/keypairs/${keypairs.env2}/rotate`, body: {} }), expect: { operator: 200, accountAdmin: 200, environmentAdmin: 404, outsider: 404 } },
  { name: 'DELETE keypair in own environment', request: async () => ({ method: 'delete', path: `/keypairs/${await freshKeypairIn(a.env1)}` }), expect: { operator: 204, accountAdmin: 204, environmentAdmin: 204, outsider: 404 } },
  { name: 'DELETE keypair in sibling environment', request: async () => ({ method: 'delete', path: `/keypairs/${await freshKeypairIn(a.env2)}` }), expect: { operator: 204, accountAdmin: 204, environmentAdmin: 404, outsider: 404 } },
  { name: 'GET keypair history in own environment', request: async () => ({ method: 'get', path: `/keypairs/${keypairs.env1}/events` }), expect: { operator: 200, accountAdmin: 200, environmentAdmin: 200, outsider: 404 } },
  { name: 'GET keypair history in sibling environment', request: async () => ({ method: 'get', path: `/keypairs/${keypairs.env2}/events` }), expect: { operator: 200, accountAdmin: 200, environmentAdmin: 404, outsider: 404 } },
  { name: 'GET account history', request: async () => ({ method: 'get', path: `/accounts/${a.accountId}/events` }), expect: { operator: 200, accountAdmin: 200, environmentAdmin: 404, outsider: 404 } },
  { name: 'POST accounts', request: async () => ({ method: 'post', path: '/accounts', body: { name: 'new' } }), expect: { operator: 201, accountAdmin: 403, environmentAdmin: 403, outsider: 403 } },
  { name: 'GET account', request: async () => ({ method: 'get', path: `/accounts/${a.accountId}` }), expect: { operator: 200, accountAdmin: 200, environmentAdmin: 404, outsider: 404 } },
  { name: 'PATCH account', request: async () => ({ method: 'patch', path: `/accounts/${a.accountId}`, body: { name: 'Account A' } }), expect: { operator: 200, accountAdmin: 403, environmentAdmin: 404, outsider: 404 } },
  { name: 'DELETE account', request: async (role) => ({ method: 'delete', path: `/accounts/${role === 'operator' ? (await kg.keygate.tenancy.createAccount(OPERATOR, 'closing')).id : a.accountId}` }), expect: { operator: 204, accountAdmin: 403, environmentAdmin: 404, outsider: 404 } },
  { name: 'GET environments', request: async () => ({ method: 'get', path: `/accounts/${a.accountId}/environments` }), expect: { operator: 200, accountAdmin: 200, environmentAdmin: 404, outsider: 404 } },
  { name: 'POST environment', request: async () => ({ method: 'post', path: `/accounts/${a.accountId}/environments`, body: { name: 'extra' } }), expect: { operator: 201, accountAdmin: 201, environmentAdmin: 404, outsider: 404 } },
  { name: 'GET own environment', request: async () => ({ method: 'get', path: `/environments/${a.env1}` }), expect: { operator: 200, accountAdmin: 200, environmentAdmin: 200, outsider: 404 } },
  { name: 'PATCH own environment', request: async () => ({ method: 'patch', path: `/environments/${a.env1}`, body: { name: 'a-one' } }), expect: { operator: 200, accountAdmin: 200, environmentAdmin: 403, outsider: 404 } },
  {
    name: 'DELETE environment',
    request: async (role) => ({ method: 'delete', path: `/environments/${role === 'environmentAdmin' ? a.env1 : (await kg.keygate.tenancy.createEnvironment(OPERATOR, a.accountId, 'closing')).id}` }),
    expect: { operator: 204, accountAdmin: 204, environmentAdmin: 403, outsider: 404 },
  },
  { name: 'PUT account admin', request: async () => ({ method: 'put', path: `/accounts/${a.accountId}/admins/${spareUser.id}` }), expect: { operator: 201, accountAdmin: 403, environmentAdmin: 404, outsider: 404 } },
  { name: 'DELETE account admin', request: async () => ({ method: 'delete', path: `/accounts/${a.accountId}/admins/${spareUser.id}` }), expect: { operator: 204, accountAdmin: 403, environmentAdmin: 404, outsider: 404 } },
  {
    name: 'PUT environment admin for a user of the account',
    request: async () => ({ method: 'put', path: `/environments/${a.env2}/admins/${(await createUser(kg.keygate, { environments: [{ environmentId: a.env1, accountId: a.accountId }] })).id}` }),
    expect: { operator: 201, accountAdmin: 201, environmentAdmin: 404, outsider: 404 },
  },
  {
    name: 'PUT environment admin for a user of another account',
    request: async () => ({ method: 'put', path: `/environments/${a.env2}/admins/${(await createUser(kg.keygate, { environments: [{ environmentId: b.env1, accountId: b.accountId }] })).id}` }),
    expect: { operator: 201, accountAdmin: 404, environmentAdmin: 404, outsider: 404 },
  },
  {
    name: 'PUT environment admin for a user with no grant anywhere',
    request: async () => ({ method: 'put', path: `/environments/${a.env2}/admins/${(await createUser(kg.keygate)).id}` }),
    expect: { operator: 201, accountAdmin: 404, environmentAdmin: 404, outsider: 404 },
  },
  {
    name: 'PUT environment admin by email (an invitation)',
    request: async (role) => ({ method: 'put', path: `/environments/${a.env2}/admins/${encodeURIComponent(`invited-${role}-${Date.now()}@new.test`)}` }),
    expect: { operator: 201, accountAdmin: 201, environmentAdmin: 404, outsider: 404 },
  },
  { name: 'PUT own environment admin', request: async () => ({ method: 'put', path: `/environments/${a.env1}/admins/${spareUser.id}` }), expect: { operator: 201, accountAdmin: 200, environmentAdmin: 403, outsider: 404 } },
  { name: 'GET users', request: async () => ({ method: 'get', path: '/users' }), expect: { operator: 200, accountAdmin: 403, environmentAdmin: 403, outsider: 403 } },
  { name: 'POST users', request: async (role) => ({ method: 'post', path: '/users', body: { email: `${role}-${Date.now()}@new.test` } }), expect: { operator: 201, accountAdmin: 403, environmentAdmin: 403, outsider: 403 } },
  { name: 'GET another user', request: async () => ({ method: 'get', path: `/users/${spareUser.id}` }), expect: { operator: 200, accountAdmin: 404, environmentAdmin: 404, outsider: 404 } },
  { name: 'GET oneself', request: async (role) => ({ method: 'get', path: `/users/${users[role].id}` }), expect: { operator: 200, accountAdmin: 200, environmentAdmin: 200, outsider: 200 } },
  { name: 'PATCH another user', request: async () => ({ method: 'patch', path: `/users/${spareUser.id}`, body: { name: 'Spare' } }), expect: { operator: 200, accountAdmin: 404, environmentAdmin: 404, outsider: 404 } },
  { name: 'GET resource servers', request: async () => ({ method: 'get', path: '/resource-servers' }), expect: { operator: 200, accountAdmin: 200, environmentAdmin: 200, outsider: 200 } },
  {
    name: 'POST resource server',
    request: async (role) => ({ method: 'post', path: '/resource-servers', body: { identifier: `https://${role}.api.test/${Date.now()}`, name: 'API', scopes: [{ name: 'x', description: 'x' }] } }),
    expect: { operator: 201, accountAdmin: 403, environmentAdmin: 403, outsider: 403 },
  },
  { name: 'GET me', request: async () => ({ method: 'get', path: '/me' }), expect: { operator: 200, accountAdmin: 200, environmentAdmin: 200, outsider: 200 } },
];

describe('tenancy: every route, every role', () => {
  for (const testCase of CASES) {
    it(testCase.name, async () => {
      for (const role of ROLES) {
        const { method, path, body } = await testCase.request(role);
        const response = await call(role, method, path, body);
        expect(response.status, `${role} ${method.toUpperCase()} ${path}`).toBe(testCase.expect[role]);
        if (response.status >= 400) {
          expect(response.headers['content-type'], role).toMatch(/^application\/problem\+json/);
          expect(response.body.status, role).toBe(response.status);
        }
      }
    });
  }

  it('a 404 for something out of reach reads exactly like one for something that does not exist', async () => {
    const hidden = await call('outsider', 'get', `/keypairs/${keypairs.env1}`);
    const missing = await call('outsider', 'get', '/keypairs/kp_0000000000000000000000');
    expect(hidden.status).toBe(404);
    expect(hidden.body).toEqual(missing.body);
  });

  it('an account admin granting a user outside its account gets the 404 of an unknown id, and learns nothing of that user', async () => {
    const stranger = await createUser(kg.keygate, { environments: [{ environmentId: b.env1, accountId: b.accountId }] });
    const outside = await call('accountAdmin', 'put', `/environments/${a.env2}/admins/${stranger.id}`);
    const unknown = await call('accountAdmin', 'put', `/environments/${a.env2}/admins/usr_0000000000000000000000`);
    expect(outside.status).toBe(404);
    expect(outside.body).toEqual(unknown.body);
    expect(outside.text).not.toContain(stranger.email);
    // Nothing was granted, so nothing about the stranger reaches the account's history either.
    expect((await call('operator', 'get', `/users/${stranger.id}`)).body.memberships).toEqual([{ role: 'admin', accountId: null, environmentId: b.env1, createdAt: expect.any(String) }]);
    const events = await call('accountAdmin', 'get', `/accounts/${a.accountId}/events?limit=100`);
    expect(events.text).not.toContain(stranger.email);
    expect(events.text).not.toContain(stranger.id);
  });

  it('an invitation by email grants the user with that email, or a new one, and answers no more than the caller said', async () => {
    const email = `dana-${Date.now()}@invited.test`;
    const invited = await call('accountAdmin', 'put', `/environments/${a.env2}/admins/${encodeURIComponent(email.toUpperCase())}`);
    expect(invited.status).toBe(201);
    expect(invited.body).toEqual({ userId: expect.stringMatching(/^usr_/), role: 'admin', accountId: a.accountId, environmentId: a.env2 });
    const user = await call('operator', 'get', `/users/${invited.body.userId}`);
    expect(user.body).toMatchObject({ email, memberships: [{ environmentId: a.env2 }] });
    // Again: the same user, the grant existed.
    expect((await call('accountAdmin', 'put', `/environments/${a.env2}/admins/${encodeURIComponent(email)}`)).body.userId).toBe(invited.body.userId);
    // Now a user of the account, reachable by id.
    expect((await call('accountAdmin', 'put', `/environments/${a.env1}/admins/${invited.body.userId}`)).status).toBe(201);

    const bad = await call('accountAdmin', 'put', `/environments/${a.env2}/admins/${encodeURIComponent('a@b@c')}`);
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toEqual([{ field: 'userId', message: 'must be an email address' }]);
  });

  it('refused calls change nothing', async () => {
    const before = (await call('operator', 'get', `/keypairs/${keypairs.env2}`)).body;
    await call('environmentAdmin', 'patch', `/keypairs/${keypairs.env2}`, { name: 'hijacked' });
    await call('outsider', 'delete', `/keypairs/${keypairs.env2}`);
    await call('environmentAdmin', 'post', `/keypairs/${keypairs.env2}/rotate`, {});
    expect((await call('operator', 'get', `/keypairs/${keypairs.env2}`)).body).toEqual(before);
    expect((await call('operator', 'get', `/accounts/${a.accountId}`)).body.status).toBe('active');
  });

  it('lists show each role only what it can reach', async () => {
    const accountsOf = async (role: Role) => ((await call(role, 'get', '/accounts')).body.data as Array<{ id: string }>).map((account) => account.id);
    expect(await accountsOf('operator')).toEqual(expect.arrayContaining([a.accountId, b.accountId]));
    expect(await accountsOf('accountAdmin')).toEqual([a.accountId]);
    expect(await accountsOf('environmentAdmin')).toEqual([]);

    const listed = (await call('environmentAdmin', 'get', `/environments/${a.env1}/keypairs?limit=100`)).body.data as Array<{ environmentId: string }>;
    expect(listed.length).toBeGreaterThan(0);
    expect(listed.every((keypair) => keypair.environmentId === a.env1)).toBe(true);

    const events = (await call('accountAdmin', 'get', `/accounts/${a.accountId}/events?limit=100`)).body.data as Array<{ accountId: string }>;
    expect(events.length).toBeGreaterThan(0);
    expect(events.every((event) => event.accountId === a.accountId)).toBe(true);
  });

  it('GET /me lists the caller and its grants', async () => {
    const me = await call('environmentAdmin', 'get', '/me');
    expect(me.body).toMatchObject({
      id: users.environmentAdmin.id,
      email: users.environmentAdmin.email,
      isOperator: false,
      memberships: [{ role: 'admin', accountId: a.accountId, accountName: 'Account A', environmentId: a.env1, environmentName: 'a-one' }],
    });
  });
});

describe('authentication', () => {
  const get = (authorization?: string) => {
    const request = kg.http.get('/admin/v1/me');
    return authorization === undefined ? request : request.set('Authorization', authorization);
  };

  it('without a token: 401 with a bare Bearer challenge', async () => {
    const response = await get();
    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toBe('Bearer');
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  });

  it.each([
    ['not a bearer header', 'Basic abc'],
    ['not a JWT', 'Bearer abc.def'],
  ])('%s: 401 invalid_token', async (_label, header) => {
    const response = await get(header);
    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toMatch(/^Bearer error="invalid_token"/);
  });

  it('an expired token, a foreign signature, a wrong audience, an untrusted issuer: 401 invalid_token', async () => {
    const email = users.operator.email;
    const now = Math.floor(Date.now() / 1000);
    const expired = await adminToken(kg.keygate, email, 60, now - 3600);
    const foreignKeys = { keys: [await generateSigningKey('ES256', now)] };
    const forged = await mintAdminToken(kg.keygate.config, foreignKeys, email);
    const wrongAudience = await mintAdminToken({ issuer: TEST_ISSUER, tokenSigningAlg: 'ES256' }, kg.keygate.keySet(), email).then(async () => {
      const key = kg.keygate.keySet().keys[0]!;
      const { created_at: _c, ...jwk } = key;
      const { importJWK } = await import('jose');
      return new SignJWT({ email }).setProtectedHeader({ alg: 'ES256', kid: key.kid }).setIssuer(TEST_ISSUER).setAudience(TEST_ISSUER).setExpirationTime('5m').sign(await importJWK(jwk, 'ES256'));
    });
    const untrusted = await mintAdminToken({ issuer: 'https://evil.example', tokenSigningAlg: 'ES256' }, kg.keygate.keySet(), email);
    for (const [label, token] of [['expired', expired], ['forged', forged], ['audience', wrongAudience], ['issuer', untrusted]] as const) {
      const response = await get(`Bearer ${token}`);
      expect(response.status, label).toBe(401);
      expect(response.headers['www-authenticate'], label).toMatch(/^Bearer error="invalid_token"/);
    }
  });

  it('a token for an unknown user, or for a user who is no admin anywhere: 401', async () => {
    expect((await get(`Bearer ${await adminToken(kg.keygate, 'nobody@example.test')}`)).status).toBe(401);
    const lapsed = await createUser(kg.keygate, { environments: [{ environmentId: b.env1, accountId: b.accountId }] });
    expect((await get(lapsed.bearer)).status).toBe(200);
    await kg.keygate.tenancy.revokeAdmin(OPERATOR, lapsed.id, { environmentId: b.env1, accountId: b.accountId });
    expect((await get(lapsed.bearer)).status).toBe(401);
  });
});

describe('an external identity provider (ADMIN_TRUSTED_ISSUERS)', () => {
  it('its tokens map to Keygate users by verified email', async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'idp-key', alg: 'RS256', use: 'sig' };
    const idp = createServer((_req, res) => {
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => idp.listen(0, '127.0.0.1', resolve));
    const jwksUri = `http://127.0.0.1:${(idp.address() as AddressInfo).port}/jwks`;
    const withIdp = await startTestKeygate({ ADMIN_TRUSTED_ISSUERS: JSON.stringify([{ issuer: 'https://idp.example', jwksUri, audience: 'keygate-admin' }]) });
    try {
      const sign = (claims: Record<string, unknown>, audience = 'keygate-admin', subject = 'idp-subject') =>
        new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'idp-key' }).setIssuer('https://idp.example').setAudience(audience).setSubject(subject).setExpirationTime('5m').sign(privateKey);
      const me = await withIdp.http.get('/admin/v1/me').set('Authorization', `Bearer ${await sign({ email: users.accountAdmin.email.toUpperCase(), email_verified: true })}`);
      expect(me.status).toBe(200);
      expect(me.body.id).toBe(users.accountAdmin.id);
      expect((await withIdp.http.get('/admin/v1/me').set('Authorization', `Bearer ${await sign({ email: users.accountAdmin.email, email_verified: true }, 'other')}`)).status).toBe(401);
      expect((await withIdp.http.get('/admin/v1/me').set('Authorization', `Bearer ${await sign({ email: 'stranger@example.test', email_verified: true }, 'keygate-admin', 'stranger-subject')}`)).status).toBe(401);
    } finally {
      await withIdp.close();
      idp.close();
    }
  });
});
