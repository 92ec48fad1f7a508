import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser, type TestUser } from '../support/admin.js';
import { consoleSession, type ConsoleSession as Session } from '../support/console.js';
import { createKeypair, createTenant, requestToken, startTestKeygate, type Tenant, type TestKeygate } from '../support/keygate.js';

/**
 * Console actions over HTTP, as a browser without script sends them: each POST that
 * does something answers 303 to a GET page, rotate and disable need confirming, and a
 * new secret is shown once, by a page a reload cannot re-submit.
 */
let kg: TestKeygate;
let tenant: Tenant;
let admin: TestUser;

beforeAll(async () => {
  kg = await startTestKeygate();
  tenant = await createTenant(kg.keygate);
  admin = await createUser(kg.keygate, { environments: [{ environmentId: tenant.environmentId, accountId: tenant.accountId }] });
});
afterAll(() => kg.close());

/** Without the agent's cookie jar, so each request carries exactly the session given. */
const http = () => supertest(kg.keygate.callback());

const signIn = (email: string) => consoleSession(kg, email);

const get = (session: Session, url: string) => http().get(url).set('Cookie', session.cookie);
const post = (session: Session, url: string, form: Record<string, string | readonly string[]> = {}) => http().post(url).set('Cookie', session.cookie).type('form').send({ _csrf: session.csrf, ...form });

const secretRows = async (clientId: string) => kg.keygate.db.knex('keypair_secrets').where({ client_id: clientId }).orderBy('created_at').select('secret_sha256', 'expires_at');
const secretIn = (text: string) => /value="(kgs_[^"]+)"/.exec(text)?.[1];

describe('console actions', () => {
  it('create answers 303 to a one-time secret page; a reload shows it no more and creates nothing', async () => {
    const session = await signIn(admin.email);
    const created = await post(session, `/console/environments/${tenant.environmentId}/keypairs/new`, { name: 'once', grant: [`read ${kg.keygate.catalog.defaultServer!.identifier}`], expiry: 'never' });
    expect(created.status).toBe(303);
    const location = created.headers.location!;
    expect(location).toMatch(/^\/console\/keypairs\/kp_\w+\/secret\/[\w-]{22}$/);
    expect(created.text).not.toContain('kgs_');
    const clientId = location.split('/')[3]!;

    const shown = await get(session, location);
    expect(shown.status).toBe(200);
    expect(shown.headers['cache-control']).toBe('no-store');
    const secret = secretIn(shown.text)!;
    expect(secret).toMatch(/^kgs_/);
    expect((await requestToken(kg.http, { clientId, clientSecret: secret })).status).toBe(200);

    const reload = await get(session, location);
    expect(reload.status).toBe(410);
    expect(reload.text).toContain('The secret was shown once');
    expect(reload.text).not.toContain(secret);
    expect(await kg.keygate.db.knex('keypairs').where({ name: 'once', environment_id: tenant.environmentId }).count<{ count: number }[]>({ count: '*' }).then(([row]) => Number(row!.count))).toBe(1);
  });

  it('rotate needs a grace period chosen and a confirmation; then 303, and a reload rotates nothing', async () => {
    const session = await signIn(admin.email);
    const { keypair, clientSecret } = await createKeypair(kg.keygate, { owner: { environmentId: tenant.environmentId } });
    const base = `/console/keypairs/${keypair.clientId}`;

    const page = await get(session, `${base}?tab=settings`);
    expect(page.text).toMatch(/<input type="radio" id="grace-0" name="gracePeriodSeconds" value="0" required>/);
    expect(page.text).not.toMatch(/name="gracePeriodSeconds"[^>]*checked/);

    const before = await secretRows(keypair.clientId);
    for (const [form, fields] of [
      [{ confirm: 'yes' }, ['gracePeriodSeconds']],
      [{ gracePeriodSeconds: '0' }, ['confirm']],
      [{}, ['gracePeriodSeconds', 'confirm']],
      [{ gracePeriodSeconds: '5', confirm: 'yes' }, ['gracePeriodSeconds']],
    ] as const) {
      const refused = await post(session, `${base}/rotate`, form);
      expect(refused.status, JSON.stringify(form)).toBe(400);
      expect(refused.headers['content-type']).toMatch(/^text\/html/);
      for (const field of fields) expect(refused.text).toContain(`<strong>${field}</strong>`);
    }
    expect(await secretRows(keypair.clientId)).toEqual(before);
    expect((await requestToken(kg.http, { clientId: keypair.clientId, clientSecret })).status).toBe(200);

    const rotated = await post(session, `${base}/rotate`, { gracePeriodSeconds: '3600', confirm: 'yes' });
    expect(rotated.status).toBe(303);
    expect(rotated.headers.location).toMatch(new RegExp(`^${base}/secret/[\\w-]{22}$`));
    const after = await secretRows(keypair.clientId);
    expect(after).toHaveLength(before.length + 1);

    const shown = await get(session, rotated.headers.location!);
    expect(shown.status).toBe(200);
    expect(shown.text).toContain('the previous secret works 1 hour more');
    const secret = secretIn(shown.text)!;
    for (let reload = 0; reload < 2; reload += 1) {
      const again = await get(session, rotated.headers.location!);
      expect(again.status).toBe(410);
      expect(again.text).not.toContain(secret);
    }
    // Nothing rotated again: the same secrets, and both the new one and the old (in its grace) work.
    expect(await secretRows(keypair.clientId)).toEqual(after);
    expect((await requestToken(kg.http, { clientId: keypair.clientId, clientSecret: secret })).status).toBe(200);
    expect((await requestToken(kg.http, { clientId: keypair.clientId, clientSecret })).status).toBe(200);
  });

  it('a secret page is for the session that made it, and for 5 minutes', async () => {
    const session = await signIn(admin.email);
    const other = await signIn(admin.email);
    const { keypair } = await createKeypair(kg.keygate, { owner: { environmentId: tenant.environmentId } });
    const first = await post(session, `/console/keypairs/${keypair.clientId}/rotate`, { gracePeriodSeconds: '0', confirm: 'yes' });
    expect(first.status, first.text).toBe(303);
    expect((await get(other, first.headers.location!)).status).toBe(410);
    expect(secretIn((await get(session, first.headers.location!)).text)).toMatch(/^kgs_/);

    const second = await post(session, `/console/keypairs/${keypair.clientId}/rotate`, { gracePeriodSeconds: '0', confirm: 'yes' });
    kg.clock.advance(301);
    const late = await get(session, second.headers.location!);
    expect(late.status).toBe(410);
    expect(secretIn(late.text)).toBeUndefined();
  });

  it('disable needs a confirmation; every change answers 303 to the keypair page, which says what was done', async () => {
    const session = await signIn(admin.email);
    const { keypair, clientSecret } = await createKeypair(kg.keygate, { owner: { environmentId: tenant.environmentId } });
    const base = `/console/keypairs/${keypair.clientId}`;
    expect((await get(session, `${base}?tab=settings`)).text).toMatch(/<input type="checkbox" id="disable-confirm" name="confirm" value="yes" required>/);

    const refused = await post(session, `${base}/disable`, { reason: 'oops' });
    expect(refused.status).toBe(400);
    expect(refused.text).toContain('<strong>confirm</strong>');
    expect((await kg.keygate.keypairs.getKeypair(keypair.clientId)).enabled).toBe(true);
    expect((await requestToken(kg.http, { clientId: keypair.clientId, clientSecret })).status).toBe(200);

    // Back to the tab the form was on.
    for (const [action, form, tab, done, notice] of [
      ['disable', { reason: 'retired', confirm: 'yes' }, 'settings', 'disabled', 'Disabled: token requests with this keypair are refused.'],
      ['enable', {}, 'settings', 'enabled', 'Enabled.'],
      ['update', { comment: 'nightly', grant: [`read ${kg.keygate.catalog.defaultServer!.identifier}`] }, 'grants', 'saved', 'Saved.'],
    ] as const) {
      const response = await post(session, `${base}/${action}`, form);
      expect(response.status, action).toBe(303);
      expect(response.headers.location).toBe(`${base}?tab=${tab}&done=${done}`);
      const page = await get(session, response.headers.location!);
      expect(page.status).toBe(200);
      expect(page.text).toContain(`<p class="notice" role="status">${notice}</p>`);
    }
    expect(await kg.keygate.keypairs.getKeypair(keypair.clientId)).toMatchObject({ enabled: true, comment: 'nightly', scopes: ['read'] });

    const deleted = await post(session, `${base}/delete`, { confirmName: keypair.name });
    expect(deleted.status).toBe(303);
    expect(deleted.headers.location).toBe(`/console/environments/${tenant.environmentId}?deleted=${keypair.clientId}`);
    expect((await get(session, deleted.headers.location!)).text).toContain(`Keypair <code>${keypair.clientId}</code> is deleted`);
  });

  it('the operator forms and sign-out answer 303 too', async () => {
    const operator = await createUser(kg.keygate, { operator: true });
    const session = await signIn(operator.email);
    for (const [url, form] of [
      ['/console/operator/accounts', { name: 'Redirected' }],
      [`/console/operator/accounts/${tenant.accountId}/environments`, { name: 'staging' }],
      ['/console/operator/admins', { email: 'redirected@example.test', scope: `account:${tenant.accountId}` }],
      ['/console/operator/resource-servers', { identifier: 'https://redirected.example.test/', name: 'Redirected', scopes: 'r Read' }],
    ] as const) {
      const response = await post(session, url, form);
      expect(response.status, url).toBe(303);
      expect((await get(session, response.headers.location!)).status).toBe(200);
    }
    const signedOut = await post(session, '/console/sign-out');
    expect(signedOut.status).toBe(303);
    expect(signedOut.headers.location).toBe('/console/sign-in');
    expect((await get(session, '/console')).headers.location).toBe('/console/sign-in');
  });
});
