import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintConsoleLink } from '../../src/console/sign_in.js';
import { createUser, type TestUser } from '../support/admin.js';
import { createTenant, startTestKeygate, type TestKeygate } from '../support/keygate.js';

let kg: TestKeygate;
let admin: TestUser;
let operator: TestUser;
let tenant: Awaited<ReturnType<typeof createTenant>>;

beforeAll(async () => {
  kg = await startTestKeygate({ ISSUER: 'https://keygate.example.test', CONSOLE_SESSION_TTL: '3600' });
  tenant = await createTenant(kg.keygate);
  operator = await createUser(kg.keygate, { operator: true });
  admin = await createUser(kg.keygate, { environments: [{ environmentId: tenant.environmentId, accountId: tenant.accountId }] });
});

afterAll(() => kg.close());

const linkFor = (email: string) => mintConsoleLink(kg.keygate.config, kg.keygate.keySet(), email, Math.floor(kg.clock.now().getTime() / 1000));
const tokenOf = (link: string) => new URL(link).searchParams.get('token')!;
const signIn = (token: string) => kg.http.post('/console/sign-in').type('form').send({ token });

describe('console sign-in', () => {
  it('sends a visitor without a session to the sign-in page', async () => {
    const response = await kg.http.get('/console');
    expect(response.status).toBe(302);
    expect(response.headers.location).toBe('/console/sign-in');
    const page = await kg.http.get('/console/sign-in');
    expect(page.status).toBe(200);
    expect(page.text).toContain('npx keygate console-link --operator');
    expect(page.headers['content-security-policy']).toContain("default-src 'none'");
  });

  it('exchanges a link once for a Secure, HttpOnly, SameSite=Strict session cookie behind an https ISSUER', async () => {
    const token = tokenOf(await linkFor(admin.email));
    // The link's GET only offers the button: fetching it uses nothing up.
    expect((await kg.http.get(`/console/sign-in?token=${token}`)).text).toContain('<button type="submit">Sign in</button>');
    const response = await signIn(token);
    expect(response.status).toBe(303);
    expect(response.headers.location).toBe('/console');
    const cookie = response.headers['set-cookie']![0]!;
    expect(cookie).toMatch(/^keygate_console=[\w-]{43}; path=\/console; expires=.*; samesite=strict; secure; httponly$/);
    const session = cookie.split(';')[0]!;
    const home = await kg.http.get('/console').set('Cookie', session);
    expect(home.status).toBe(200);
    expect(home.text).toContain(admin.email);
    expect((await signIn(token)).status).toBe(401);
  });

  it('refuses forged, expired and unknown-user links', async () => {
    const token = tokenOf(await linkFor(admin.email));
    expect((await signIn(`${token.slice(0, -4)}AAAA`)).status).toBe(401);
    expect((await signIn('not-a-token')).status).toBe(401);
    expect((await signIn(tokenOf(await linkFor('nobody@example.test')))).status).toBe(401);
    kg.clock.advance(601);
    expect((await signIn(token)).status).toBe(401);
  });

  it('ends the session after CONSOLE_SESSION_TTL', async () => {
    const response = await signIn(tokenOf(await linkFor(admin.email)));
    const session = response.headers['set-cookie']![0]!.split(';')[0]!;
    expect((await kg.http.get('/console').set('Cookie', session)).status).toBe(200);
    kg.clock.advance(3601);
    const later = await kg.http.get('/console').set('Cookie', session);
    expect(later.status).toBe(302);
    expect(later.headers.location).toBe('/console/sign-in');
  });

  it('answers NUL in a URL or a form with a 4xx and changes nothing (PostgreSQL text cannot hold it)', async () => {
    const response = await signIn(tokenOf(await linkFor(operator.email)));
    const session = response.headers['set-cookie']![0]!.split(';')[0]!;
    const home = await kg.http.get('/console').set('Cookie', session);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(home.text)![1]!;
    for (const url of ['/console/accounts/%00', `/console/environments/${tenant.environmentId}?q=%00`, `/console/environments/${tenant.environmentId}/history?action=%00`]) {
      expect((await kg.http.get(url).set('Cookie', session)).status, url).toBe(404);
    }
    // Other test files create accounts on a shared PostgreSQL at the same time: count what this form could have made.
    const environmentsBefore = (await kg.keygate.tenancy.listEnvironments(tenant.accountId)).length;
    for (const [url, form] of [
      ['/console/operator/accounts', { name: 'a\u0000b' }],
      [`/console/operator/accounts/${tenant.accountId}/environments`, { name: 'a\u0000b' }],
      ['/console/operator/admins', { email: 'a\u0000@b.test', scope: `account:${tenant.accountId}` }],
      ['/console/operator/admins', { email: 'nul@b.test', scope: 'account:\u0000' }],
    ] as const) {
      const refused = await kg.http.post(url).set('Cookie', session).type('form').send({ _csrf: csrf, ...form });
      expect(refused.status, url).toBe(400);
      expect(refused.text).toContain('must not contain NUL characters');
    }
    expect((await kg.keygate.tenancy.listAccounts()).map((account) => account.name).filter((name) => name.replace('\u0000', '') === 'ab')).toEqual([]);
    expect(await kg.keygate.tenancy.listEnvironments(tenant.accountId)).toHaveLength(environmentsBefore);
    expect((await kg.keygate.tenancy.listUsers()).map((user) => user.email)).not.toContain('nul@b.test');
  });
});
