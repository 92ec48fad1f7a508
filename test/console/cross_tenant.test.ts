import { generateKeyPairSync } from 'node:crypto';
import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PublicJwk } from '../../src/keypairs/public_keys.js';
import { createUser, type TestUser } from '../support/admin.js';
import { consoleSession, type ConsoleSession as Session } from '../support/console.js';
import { createKeypair, OPERATOR, startTestKeygate, type TestKeygate } from '../support/keygate.js';
import { withRouteList } from '../support/routes.js';

/**
 * Console writes across tenants. The admin of account A is signed in with a real session
 * and sends its own valid CSRF token, so neither the session nor the CSRF check stops
 * anything: each console write aimed at account B's objects must meet the console's
 * not-found page, and B's objects, read back through the admin API, stay as they were.
 * The same form aimed where the sender may write succeeds (303), so the 404 comes from
 * the tenancy rule and not from a form the route would refuse anyway.
 *
 * The write routes come from the console's router: a new POST route with no row in
 * WRITES fails the first test.
 */
let kg: TestKeygate;
let consolePosts: string[];
let operator: TestUser;
let adminOfA: TestUser;
let adminOfB: TestUser;
let a: Tenant;
let b: Tenant;
let sessions: { adminOfA: Session; adminOfB: Session; operator: Session };

interface Tenant {
  readonly accountId: string;
  readonly environmentId: string;
}
beforeAll(async () => {
  const { started, routesUnder } = await withRouteList(() => startTestKeygate());
  kg = started;
  consolePosts = routesUnder('/console').filter((route) => route.startsWith('POST '));
  a = await tenant('Tenant A');
  b = await tenant('Tenant B');
  operator = await createUser(kg.keygate, { operator: true });
  adminOfA = await createUser(kg.keygate, { accounts: [a.accountId] });
  adminOfB = await createUser(kg.keygate, { accounts: [b.accountId] });
  sessions = { adminOfA: await signIn(adminOfA.email), adminOfB: await signIn(adminOfB.email), operator: await signIn(operator.email) };
});
afterAll(() => kg.close());

async function tenant(name: string): Promise<Tenant> {
  const account = await kg.keygate.tenancy.createAccount(OPERATOR, `${name} account`);
  const environment = await kg.keygate.tenancy.createEnvironment(OPERATOR, account.id, `${name} environment`);
  return { accountId: account.id, environmentId: environment.id };
}

/** Without the agent's cookie jar, so each request carries exactly the session given. */
const http = () => supertest(kg.keygate.callback());

const signIn = (email: string) => consoleSession(kg, email);

const post = (session: Session, url: string, form: Record<string, string | readonly string[]>) =>
  http().post(url).set('Cookie', session.cookie).type('form').send({ _csrf: session.csrf, ...form });

/** What the operator reads through the admin API: the state that must not change. */
async function adminApi(path: string): Promise<unknown> {
  const response = await kg.http.get(`/admin/v1${path}`).set('Authorization', operator.bearer);
  expect(response.status, path).toBe(200);
  return response.body;
}

/** A keypair of the tenant's environment, named after the tenant; disabled when asked. */
async function keypairOf(tenant: Tenant, options: { disabled?: boolean } = {}) {
  const name = tenant === b ? 'Tenant B keypair' : 'Tenant A keypair';
  const { keypair } = await createKeypair(kg.keygate, { owner: { environmentId: tenant.environmentId }, name });
  if (options.disabled) await kg.keygate.keypairs.updateKeypair(OPERATOR, keypair.clientId, { enabled: false });
  return keypair;
}

/** A public-key keypair of the tenant's environment with `keys` fresh EC keys, named after the tenant. */
async function publicKeyKeypairOf(tenant: Tenant, keys: number) {
  const name = tenant === b ? 'Tenant B keypair' : 'Tenant A keypair';
  const publicKeys = Array.from({ length: keys }, () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' }) as PublicJwk);
  return kg.keygate.keypairs.createKeylessKeypair(OPERATOR, { owner: { environmentId: tenant.environmentId }, name, scopes: ['read'], credential: { publicKeys } });
}
const publicPem = () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();

const onKeys = (action: 'add' | 'remove'): Write => ({
  allowedTo: 'adminOfA',
  aim: async (tenant) => {
    const keypair = await publicKeyKeypairOf(tenant, 2);
    const form: Record<string, string> = action === 'add' ? { publicKeys: publicPem() } : { thumbprint: keypair.publicKeys[0]!.thumbprint };
    return { url: `/console/keypairs/${keypair.clientId}/keys/${action}`, form, readBack: () => adminApi(`/keypairs/${keypair.clientId}`) };
  },
});

const grant = () => `read ${kg.keygate.catalog.defaultServer!.identifier}`;

interface Aim {
  readonly url: string;
  readonly form: Record<string, string | readonly string[]>;
  /** B's objects the write would change, read back through the admin API. */
  readonly readBack: () => Promise<unknown>;
}
interface Write {
  /** The write aimed at `tenant`'s objects (fresh ones where the write would use them up). */
  readonly aim: (tenant: Tenant) => Promise<Aim>;
  /** Who may make this write at A's objects: the control that the form itself is accepted. */
  readonly allowedTo: 'adminOfA' | 'operator';
}

const onKeypair = (action: string, form: (keypair: { name: string }) => Record<string, string | readonly string[]>, options: { disabled?: boolean } = {}): Write => ({
  allowedTo: 'adminOfA',
  aim: async (tenant) => {
    const keypair = await keypairOf(tenant, options);
    return { url: `/console/keypairs/${keypair.clientId}/${action}`, form: form(keypair), readBack: () => adminApi(`/keypairs/${keypair.clientId}`) };
  },
});

/** "POST /console/..." as the console's router declares it -> the write aimed at a tenant. */
const WRITES: Record<string, Write> = {
  'POST /console/accounts/:accountId/keypairs/new': {
    allowedTo: 'adminOfA',
    aim: async (tenant) => ({
      url: `/console/accounts/${tenant.accountId}/keypairs/new`,
      form: { name: 'across', grant: [grant()], expiry: 'never' },
      readBack: () => adminApi(`/accounts/${tenant.accountId}/keypairs?limit=100`),
    }),
  },
  'POST /console/environments/:environmentId/keypairs/new': {
    allowedTo: 'adminOfA',
    aim: async (tenant) => ({
      url: `/console/environments/${tenant.environmentId}/keypairs/new`,
      form: { name: 'across', grant: [grant()], expiry: 'never' },
      readBack: () => adminApi(`/environments/${tenant.environmentId}/keypairs?limit=100`),
    }),
  },
  'POST /console/keypairs/:clientId/update': onKeypair('update', () => ({ comment: 'changed from another tenant', grant: [grant()] })),
  'POST /console/keypairs/:clientId/disable': onKeypair('disable', () => ({ confirm: 'yes', reason: 'from another tenant' })),
  'POST /console/keypairs/:clientId/enable': onKeypair('enable', () => ({}), { disabled: true }),
  'POST /console/keypairs/:clientId/rotate': onKeypair('rotate', () => ({ gracePeriodSeconds: '0', confirm: 'yes' })),
  'POST /console/keypairs/:clientId/keys/add': onKeys('add'),
  'POST /console/keypairs/:clientId/keys/remove': onKeys('remove'),
  'POST /console/keypairs/:clientId/delete': onKeypair('delete', (keypair) => ({ confirmName: keypair.name })),
  // The operator pages exist for operators only; for anyone else they are not found.
  'POST /console/operator/accounts': {
    allowedTo: 'operator',
    aim: async () => ({ url: '/console/operator/accounts', form: { name: 'made across tenants' }, readBack: () => adminApi('/accounts') }),
  },
  'POST /console/operator/accounts/:accountId/environments': {
    allowedTo: 'operator',
    aim: async (tenant) => ({
      url: `/console/operator/accounts/${tenant.accountId}/environments`,
      form: { name: 'made across tenants' },
      readBack: () => adminApi(`/accounts/${tenant.accountId}/environments`),
    }),
  },
  'POST /console/operator/admins': {
    allowedTo: 'operator',
    aim: async (tenant) => {
      const email = `invited-${Date.now()}-${Math.random().toString(36).slice(2, 8)}@across.test`;
      const grantsInB = async () => ((await adminApi(`/users/${adminOfB.id}`)) as { memberships: unknown[] }).memberships;
      return {
        url: '/console/operator/admins',
        form: { email, name: 'Invited', scope: `environment:${tenant.environmentId}` },
        // Only the invited email's users: other test files create users at the same time.
        readBack: async () => ({ invited: ((await adminApi('/users')) as { data: Array<{ email: string }> }).data.filter((user) => user.email === email), grantsInB: await grantsInB() }),
      };
    },
  },
  'POST /console/operator/resource-servers': {
    allowedTo: 'operator',
    aim: async () => {
      const identifier = `https://across-${Date.now()}.api.test/`;
      return {
        url: '/console/operator/resource-servers',
        form: { identifier, name: 'Across', scopes: 'read Read things', accessTokenTtl: '300' },
        // Only this identifier's servers: other test files create servers at the same time.
        readBack: async () => ((await adminApi('/resource-servers')) as { data: Array<{ identifier: string }> }).data.filter((server) => server.identifier === identifier),
      };
    },
  },
};

/** POST routes that aim at no tenant's object, each with why; tested below or elsewhere. */
const NOT_AIMED_AT_A_TENANT: Record<string, string> = {
  'POST /console/sign-in': 'runs before any session exists; test/console/sign_in.test.ts',
  'POST /console/sign-out': "ends the caller's own session only; tested below",
};

describe('console writes across tenants, with a valid session and CSRF token', () => {
  it('has a row for every POST route of the console, and none for a route it does not have', () => {
    expect(consolePosts.length).toBeGreaterThan(10);
    const covered = [...Object.keys(WRITES), ...Object.keys(NOT_AIMED_AT_A_TENANT)];
    expect(consolePosts.filter((route) => !covered.includes(route)), 'POST routes with no cross-tenant row: add one to WRITES').toEqual([]);
    expect(covered.filter((route) => !consolePosts.includes(route)), 'rows for routes the console no longer has').toEqual([]);
  });

  for (const [route, write] of Object.entries(WRITES)) {
    it(`${route}: aimed at B by the admin of A, the not-found page, and B unchanged`, async () => {
      const aimedAtB = await write.aim(b);
      const before = await aimedAtB.readBack();
      const refused = await post(sessions.adminOfA, aimedAtB.url, aimedAtB.form);
      expect(refused.status, aimedAtB.url).toBe(404);
      expect(refused.headers['content-type']).toMatch(/^text\/html/);
      expect(refused.text).toContain('Not found');
      // Nothing of B's shows on the page: not its account's name, nor its keypair's.
      expect(refused.text).not.toContain('Tenant B');
      expect(await aimedAtB.readBack()).toEqual(before);

      // The same form where its sender may write: accepted, so the 404 above is the tenancy rule.
      const control = write.allowedTo === 'adminOfA' ? await write.aim(a) : await write.aim(b);
      const accepted = await post(sessions[write.allowedTo], control.url, control.form);
      expect(accepted.status, `${write.allowedTo} ${control.url}: ${accepted.text.slice(0, 200)}`).toBe(303);
    });
  }

  it("POST /console/sign-out ends the caller's session and no one else's", async () => {
    const mine = await signIn(adminOfA.email);
    expect((await post(mine, '/console/sign-out', {})).status).toBe(303);
    expect((await http().get('/console').set('Cookie', mine.cookie)).status).toBe(302);
    const theirs = await http().get('/console').set('Cookie', sessions.adminOfB.cookie);
    expect(theirs.status).toBe(200);
    expect(theirs.text).toContain('Tenant B account');
  });
});
