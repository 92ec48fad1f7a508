import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintConsoleLink } from '../../src/console/sign_in.js';
import { createUser, type TestUser } from '../support/admin.js';
import { createTenant, startTestKeygate, type TestKeygate } from '../support/keygate.js';

/**
 * Login CSRF: a form on another site must not sign the visitor in (to the attacker's
 * session). POST /console/sign-in checks Sec-Fetch-Site, or else Origin, against ISSUER.
 */
const ISSUER = 'https://keygate.example.test';
let kg: TestKeygate;
let admin: TestUser;

beforeAll(async () => {
  kg = await startTestKeygate({ ISSUER });
  const tenant = await createTenant(kg.keygate);
  admin = await createUser(kg.keygate, { environments: [{ environmentId: tenant.environmentId, accountId: tenant.accountId }] });
});
afterAll(() => kg.close());

const freshToken = async () => new URL(await mintConsoleLink(kg.keygate.config, kg.keygate.keySet(), admin.email, Math.floor(kg.clock.now().getTime() / 1000))).searchParams.get('token')!;
const signIn = (token: string, headers: Record<string, string>) => {
  const request = kg.http.post('/console/sign-in').type('form');
  for (const [name, value] of Object.entries(headers)) request.set(name, value);
  return request.send({ token });
};
const sessions = async () => Number((await kg.keygate.db.knex('console_sessions').where({ user_id: admin.id }).count<Array<{ count: string }>>({ count: '*' }))[0]!.count);

describe('POST /console/sign-in from another site', () => {
  it.each([
    ['a cross-site form', { 'Sec-Fetch-Site': 'cross-site', Origin: 'https://evil.example' }],
    ['a form on a sibling subdomain', { 'Sec-Fetch-Site': 'same-site', Origin: 'https://evil.example.test' }],
    ['a foreign Origin, no Sec-Fetch-Site (an older browser)', { Origin: 'https://evil.example' }],
    ['Origin null (a sandboxed frame), no Sec-Fetch-Site', { Origin: 'null' }],
    ['ISSUER’s host on another scheme', { Origin: 'http://keygate.example.test' }],
  ])('%s: 403 page, no session, and the link still works', async (_label, headers) => {
    const token = await freshToken();
    const before = await sessions();
    const refused = await signIn(token, headers);
    expect(refused.status).toBe(403);
    expect(refused.headers['content-type']).toMatch(/^text\/html/);
    expect(refused.text).toContain('This sign-in came from another site.');
    expect(refused.headers['set-cookie']).toBeUndefined();
    expect(await sessions()).toBe(before);
    // The refusal did not use the one-time link up.
    expect((await signIn(token, { 'Sec-Fetch-Site': 'same-origin', Origin: ISSUER })).status).toBe(303);
  });
});

describe('POST /console/sign-in from the console itself', () => {
  it.each([
    ['Sec-Fetch-Site same-origin and Origin ISSUER', { 'Sec-Fetch-Site': 'same-origin', Origin: ISSUER }],
    // The console's Referrer-Policy no-referrer makes browsers send Origin: null on its own forms.
    ['Sec-Fetch-Site same-origin with Origin null', { 'Sec-Fetch-Site': 'same-origin', Origin: 'null' }],
    ['Sec-Fetch-Site none (the address typed)', { 'Sec-Fetch-Site': 'none' }],
    ['only Origin, ISSUER’s', { Origin: ISSUER }],
    ['neither header (curl, a script)', {}],
  ])('%s: signed in', async (_label, headers) => {
    const response = await signIn(await freshToken(), headers);
    expect(response.status).toBe(303);
    expect(response.headers['set-cookie']![0]).toMatch(/^keygate_console=/);
  });
});
