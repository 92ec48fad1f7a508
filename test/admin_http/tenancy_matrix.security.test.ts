import type supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_PREFIX } from '../../src/admin_http/router.js';
import { createUser, type TestUser } from '../support/admin.js';
import { createKeypair, OPERATOR, startTestKeygate, type TestKeygate } from '../support/keygate.js';
import { withRouteList } from '../support/routes.js';

/**
 * The tenancy matrix: every route of the admin router, called by every role against
 * account A's objects, with the status each role must get. The list of routes comes
 * from the router itself, so a route added without a row here fails the first test:
 * whoever adds a route decides, in this table, who may call it.
 *
 * Roles: an operator; an account admin of A; an account admin of B (another tenant:
 * A's objects do not exist for it, 404); the admin of A's first environment; a user
 * with no membership at all (no admin anywhere: 401, the token names no admin).
 */
type Role = 'operator' | 'accountAdminOfA' | 'accountAdminOfB' | 'environmentAdmin' | 'noMembership';
/** The order each row calls them in: B's admin after the others, so a change it made would be the last one seen. */
const ROLES: readonly Role[] = ['operator', 'accountAdminOfA', 'environmentAdmin', 'accountAdminOfB', 'noMembership'];

let kg: TestKeygate;
let adminRoutes: string[];
let users: Record<Role, TestUser>;
let a: { accountId: string; env1: string; env2: string };
let b: { accountId: string; env1: string };
/** A keypair in A's first environment, and a resource server available to account A only. */
let keypairOfA: string;
let serverOfA: string;
let spareUser: TestUser;

beforeAll(async () => {
  const { started, routesUnder } = await withRouteList(() => startTestKeygate());
  kg = started;
  adminRoutes = routesUnder(ADMIN_PREFIX).map((route) => route.replace(` ${ADMIN_PREFIX}`, ' '));
  const t = kg.keygate.tenancy;
  const accountA = await t.createAccount(OPERATOR, 'Matrix A');
  const accountB = await t.createAccount(OPERATOR, 'Matrix B');
  a = { accountId: accountA.id, env1: (await t.createEnvironment(OPERATOR, accountA.id, 'a-one')).id, env2: (await t.createEnvironment(OPERATOR, accountA.id, 'a-two')).id };
  b = { accountId: accountB.id, env1: (await t.createEnvironment(OPERATOR, accountB.id, 'b-one')).id };
  users = {
    operator: await createUser(kg.keygate, { operator: true }),
    accountAdminOfA: await createUser(kg.keygate, { accounts: [a.accountId] }),
    accountAdminOfB: await createUser(kg.keygate, { accounts: [b.accountId] }),
    environmentAdmin: await createUser(kg.keygate, { environments: [{ environmentId: a.env1, accountId: a.accountId }] }),
    noMembership: await createUser(kg.keygate),
  };
  spareUser = await createUser(kg.keygate, { environments: [{ environmentId: a.env2, accountId: a.accountId }] });
  keypairOfA = await freshKeypair();
  const server = await call('operator', 'post', '/resource-servers', {
    identifier: `https://matrix-${Date.now()}.api.test/`,
    name: 'Matrix API',
    scopes: [{ name: 'read', description: 'read' }],
    availableTo: [a.accountId],
  });
  expect(server.status).toBe(201);
  serverOfA = server.body.id;
});
afterAll(() => kg.close());

type Method = 'get' | 'post' | 'patch' | 'put' | 'delete';
interface Call {
  readonly path: string;
  readonly body?: object;
}
interface Expectation {
  /** Builds the request for one role; runs after the fixtures exist (fresh objects may be made here). */
  readonly request: (role: Role) => Promise<Call> | Call;
  readonly expect: Record<Role, number>;
}

const call = (role: Role, method: Method, path: string, body?: object): supertest.Test => {
  const request = kg.http[method](`${ADMIN_PREFIX}${path}`).set('Authorization', users[role].bearer);
  return body === undefined ? request : request.send(body);
};

const freshKeypair = async () => (await createKeypair(kg.keygate, { owner: { environmentId: a.env1 } })).keypair.clientId;
const freshEnvironmentOfA = async () => (await kg.keygate.tenancy.createEnvironment(OPERATOR, a.accountId, 'closing')).id;
const userOfA = async () => createUser(kg.keygate, { environments: [{ environmentId: a.env2, accountId: a.accountId }] });
const freshIssuer = async (name = 'Issuer'): Promise<string> => {
  const created = await call('operator', 'post', '/trusted-issuers', { issuer: `https://matrix-${Date.now()}-${Math.random().toString(36).slice(2)}.issuer.test`, name });
  expect(created.status).toBe(201);
  return created.body.id;
};
let sharedIssuerId: string | undefined;
const sharedIssuer = async () => (sharedIssuerId ??= await freshIssuer('Matrix issuer'));

/** Statuses by role: operator, admin of A, admin of B, environment admin, no membership. */
const by = (operator: number, accountAdminOfA: number, accountAdminOfB: number, environmentAdmin: number, noMembership: number): Record<Role, number> => ({
  operator,
  accountAdminOfA,
  accountAdminOfB,
  environmentAdmin,
  noMembership,
});

/** "METHOD path" as the router declares it (below /admin/v1) -> what each role gets. */
const MATRIX: Record<string, Expectation> = {
  'GET /openapi.json': { request: () => ({ path: '/openapi.json' }), expect: by(200, 200, 200, 200, 200) },
  'GET /me': { request: () => ({ path: '/me' }), expect: by(200, 200, 200, 200, 401) },

  'GET /accounts': { request: () => ({ path: '/accounts' }), expect: by(200, 200, 200, 200, 401) },
  'POST /accounts': { request: () => ({ path: '/accounts', body: { name: 'new' } }), expect: by(201, 403, 403, 403, 401) },
  'GET /accounts/:accountId': { request: () => ({ path: `/accounts/${a.accountId}` }), expect: by(200, 200, 404, 404, 401) },
  'PATCH /accounts/:accountId': { request: (role) => ({ path: `/accounts/${a.accountId}`, body: { name: role === 'operator' ? 'Matrix A' : `renamed by ${role}` } }), expect: by(200, 403, 404, 404, 401) },
  'DELETE /accounts/:accountId': {
    // The operator closes an account of its own making; the others aim at A, which must survive them.
    request: async (role) => ({ path: `/accounts/${role === 'operator' ? (await kg.keygate.tenancy.createAccount(OPERATOR, 'closing')).id : a.accountId}` }),
    expect: by(204, 403, 404, 404, 401),
  },
  'GET /accounts/:accountId/environments': { request: () => ({ path: `/accounts/${a.accountId}/environments` }), expect: by(200, 200, 404, 404, 401) },
  'POST /accounts/:accountId/environments': { request: () => ({ path: `/accounts/${a.accountId}/environments`, body: { name: 'extra' } }), expect: by(201, 201, 404, 404, 401) },
  'GET /accounts/:accountId/events': { request: () => ({ path: `/accounts/${a.accountId}/events` }), expect: by(200, 200, 404, 404, 401) },
  'GET /accounts/:accountId/keypairs': { request: () => ({ path: `/accounts/${a.accountId}/keypairs` }), expect: by(200, 200, 404, 404, 401) },
  'POST /accounts/:accountId/keypairs': { request: () => ({ path: `/accounts/${a.accountId}/keypairs`, body: { name: 'k', scopes: ['read'] } }), expect: by(201, 201, 404, 404, 401) },
  'PUT /accounts/:accountId/admins/:userId': { request: async () => ({ path: `/accounts/${a.accountId}/admins/${(await userOfA()).id}` }), expect: by(201, 403, 404, 404, 401) },
  'DELETE /accounts/:accountId/admins/:userId': {
    request: async () => {
      const user = await userOfA();
      await kg.keygate.tenancy.grantAdmin(OPERATOR, user.id, { accountId: a.accountId });
      return { path: `/accounts/${a.accountId}/admins/${user.id}` };
    },
    expect: by(204, 403, 404, 404, 401),
  },

  'GET /environments/:environmentId': { request: () => ({ path: `/environments/${a.env1}` }), expect: by(200, 200, 404, 200, 401) },
  'PATCH /environments/:environmentId': { request: (role) => ({ path: `/environments/${a.env1}`, body: { name: role === 'operator' || role === 'accountAdminOfA' ? 'a-one' : `renamed by ${role}` } }), expect: by(200, 200, 404, 403, 401) },
  'DELETE /environments/:environmentId': {
    // The environment admin aims at its own environment, which it may not close.
    request: async (role) => ({ path: `/environments/${role === 'environmentAdmin' ? a.env1 : await freshEnvironmentOfA()}` }),
    expect: by(204, 204, 404, 403, 401),
  },
  'GET /environments/:environmentId/keypairs': { request: () => ({ path: `/environments/${a.env1}/keypairs` }), expect: by(200, 200, 404, 200, 401) },
  'POST /environments/:environmentId/keypairs': { request: () => ({ path: `/environments/${a.env1}/keypairs`, body: { name: 'k', scopes: ['read'] } }), expect: by(201, 201, 404, 201, 401) },
  'PUT /environments/:environmentId/admins/:userId': { request: async () => ({ path: `/environments/${a.env1}/admins/${(await userOfA()).id}` }), expect: by(201, 201, 404, 403, 401) },
  'DELETE /environments/:environmentId/admins/:userId': {
    request: async () => {
      const user = await userOfA();
      await kg.keygate.tenancy.grantAdmin(OPERATOR, user.id, { environmentId: a.env1, accountId: a.accountId });
      return { path: `/environments/${a.env1}/admins/${user.id}` };
    },
    expect: by(204, 204, 404, 403, 401),
  },

  'GET /keypairs/:clientId': { request: () => ({ path: `/keypairs/${keypairOfA}` }), expect: by(200, 200, 404, 200, 401) },
  'PATCH /keypairs/:clientId': { request: (role) => ({ path: `/keypairs/${keypairOfA}`, body: { comment: role } }), expect: by(200, 200, 404, 200, 401) },
  'DELETE /keypairs/:clientId': { request: async () => ({ path: `/keypairs/${await freshKeypair()}` }), expect: by(204, 204, 404, 204, 401) },
  'POST /keypairs/:clientId/rotate': { request: async () => ({ path: `/keypairs/${await freshKeypair()}/rotate`, body: {} }), expect: by(200, 200, 404, 200, 401) },
  'GET /keypairs/:clientId/usage': { request: () => ({ path: `/keypairs/${keypairOfA}/usage` }), expect: by(200, 200, 404, 200, 401) },
  'GET /keypairs/:clientId/events': { request: () => ({ path: `/keypairs/${keypairOfA}/events` }), expect: by(200, 200, 404, 200, 401) },

  'GET /users': { request: () => ({ path: '/users' }), expect: by(200, 403, 403, 403, 401) },
  'POST /users': { request: (role) => ({ path: '/users', body: { email: `matrix-${role}-${Date.now()}@new.test` } }), expect: by(201, 403, 403, 403, 401) },
  'GET /users/:userId': { request: () => ({ path: `/users/${spareUser.id}` }), expect: by(200, 404, 404, 404, 401) },
  'PATCH /users/:userId': { request: () => ({ path: `/users/${spareUser.id}`, body: { name: 'Spare' } }), expect: by(200, 404, 404, 404, 401) },

  'GET /resource-servers': { request: () => ({ path: '/resource-servers' }), expect: by(200, 200, 200, 200, 401) },
  'POST /resource-servers': {
    request: (role) => ({ path: '/resource-servers', body: { identifier: `https://matrix-${role}.api.test/${Date.now()}`, name: 'API', scopes: [{ name: 'x', description: 'x' }] } }),
    expect: by(201, 403, 403, 403, 401),
  },
  // Available to account A only: B's admin is told it does not exist.
  'GET /resource-servers/:id': { request: () => ({ path: `/resource-servers/${serverOfA}` }), expect: by(200, 200, 404, 200, 401) },
  'PATCH /resource-servers/:id': { request: (role) => ({ path: `/resource-servers/${serverOfA}`, body: { name: role === 'operator' ? 'Matrix API' : `renamed by ${role}` } }), expect: by(200, 403, 403, 403, 401) },

  // Trusted issuers: operators change them, every admin reads them (as resource servers).
  'GET /trusted-issuers': { request: () => ({ path: '/trusted-issuers' }), expect: by(200, 200, 200, 200, 401) },
  'POST /trusted-issuers': { request: (role) => ({ path: '/trusted-issuers', body: { issuer: `https://matrix-${role}-${Date.now()}.issuer.test`, name: 'Issuer' } }), expect: by(201, 403, 403, 403, 401) },
  'GET /trusted-issuers/:id': { request: async () => ({ path: `/trusted-issuers/${await sharedIssuer()}` }), expect: by(200, 200, 200, 200, 401) },
  'PATCH /trusted-issuers/:id': { request: async (role) => ({ path: `/trusted-issuers/${await sharedIssuer()}`, body: { name: role === 'operator' ? 'Matrix issuer' : `renamed by ${role}` } }), expect: by(200, 403, 403, 403, 401) },
  // The operator deletes one of its own making; the others aim at the shared one, which must survive them.
  'DELETE /trusted-issuers/:id': { request: async (role) => ({ path: `/trusted-issuers/${role === 'operator' ? await freshIssuer() : await sharedIssuer()}` }), expect: by(204, 403, 403, 403, 401) },
};

describe('tenancy matrix: every admin route, every role', () => {
  it('has a row for every route the admin router answers, and none for a route it does not', () => {
    expect(adminRoutes.length).toBeGreaterThan(30);
    expect(adminRoutes.filter((route) => !(route in MATRIX)), 'routes with no row in MATRIX: add one').toEqual([]);
    expect(Object.keys(MATRIX).filter((route) => !adminRoutes.includes(route)), 'rows for routes the router no longer has').toEqual([]);
  });

  for (const [route, row] of Object.entries(MATRIX)) {
    it(route, async () => {
      const method = route.split(' ')[0]!.toLowerCase() as Method;
      for (const role of ROLES) {
        const { path, body } = await row.request(role);
        const response = await call(role, method, path, body);
        expect(response.status, `${role} ${route} (${path})`).toBe(row.expect[role]);
        if (response.status >= 400) {
          expect(response.headers['content-type'], role).toMatch(/^application\/problem\+json/);
          expect(response.body.status, role).toBe(response.status);
        }
      }
    });
  }

  it("what was refused left A's objects as they were", async () => {
    // Every row has run by now (rows run in order, before this test).
    expect((await call('operator', 'get', `/accounts/${a.accountId}`)).body).toMatchObject({ name: 'Matrix A', status: 'active' });
    expect((await call('operator', 'get', `/environments/${a.env1}`)).body).toMatchObject({ name: 'a-one', status: 'active' });
    expect((await call('operator', 'get', `/keypairs/${keypairOfA}`)).body.comment).toBe('environmentAdmin');
    expect((await call('operator', 'get', `/resource-servers/${serverOfA}`)).body.name).toBe('Matrix API');
    expect((await call('operator', 'get', `/trusted-issuers/${await sharedIssuer()}`)).body).toMatchObject({ name: 'Matrix issuer', version: 1 });
    const listedToB = (await call('accountAdminOfB', 'get', '/accounts')).body.data as Array<{ id: string }>;
    expect(listedToB.map((account) => account.id)).toEqual([b.accountId]);
    const serversForB = (await call('accountAdminOfB', 'get', '/resource-servers')).body.data as Array<{ id: string }>;
    expect(serversForB.map((server) => server.id)).not.toContain(serverOfA);
  });
});
