import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintConsoleLink } from '../../src/console/sign_in.js';
import { createUser, type TestUser } from '../support/admin.js';
import { createTenant, startTestKeygate, type Tenant, type TestKeygate } from '../support/keygate.js';

/** The console's keypair forms over HTTP, as a browser posts them: grants grouped per resource server. */
const ISSUER = 'https://keygate.example.test';
let kg: TestKeygate;
let tenant: Tenant;
let admin: TestUser;
let operator: TestUser;
let session: string;

beforeAll(async () => {
  kg = await startTestKeygate({ ISSUER });
  tenant = await createTenant(kg.keygate);
  const other = await createTenant(kg.keygate);
  admin = await createUser(kg.keygate, { environments: [tenant] });
  operator = await createUser(kg.keygate, { operator: true });
  const api = (path: string, body: object) => kg.http.post(`/admin/v1${path}`).set('Authorization', operator.bearer).send(body);
  const scopes = (names: string[]) => names.map((name) => ({ name, description: `${name} payments` }));
  expect((await api('/resource-servers', { identifier: 'https://payments.console.test', name: 'Payments', scopes: scopes(['read', 'refund']) })).status).toBe(201);
  expect((await api('/resource-servers', { identifier: 'https://hidden.console.test', name: 'Hidden', scopes: scopes(['secret']), availableTo: [other.accountId] })).status).toBe(201);

  const link = await mintConsoleLink(kg.keygate.config, kg.keygate.keySet(), admin.email, Math.floor(kg.clock.now().getTime() / 1000));
  const signedIn = await kg.http.post('/console/sign-in').set('Origin', ISSUER).set('Sec-Fetch-Site', 'same-origin').type('form').send({ token: new URL(link).searchParams.get('token')! });
  session = signedIn.headers['set-cookie']![0]!.split(';')[0]!;
});
afterAll(() => kg.close());

const page = (path: string) => kg.http.get(path).set('Cookie', session);
const csrfOf = (html: string) => /name="_csrf" value="([^"]+)"/.exec(html)![1]!;
const post = (path: string, fields: string) => kg.http.post(path).set('Cookie', session).set('Origin', ISSUER).set('Sec-Fetch-Site', 'same-origin').type('form').send(fields);
const field = (name: string, value: string) => `${name}=${encodeURIComponent(value)}`;

describe('console keypair forms', () => {
  it('group scopes per resource server available to the account, submit grants, and the keypair page shows them', async () => {
    const defaultServer = kg.keygate.catalog.defaultServer!.identifier;
    const form = await page(`/console/environments/${tenant.environmentId}/keypairs/new`);
    expect(form.status).toBe(200);
    expect(form.text).toContain('(https://payments.console.test)</span></legend>');
    expect(form.text).toContain('name="grant" value="refund https://payments.console.test"');
    expect(form.text).toContain(`name="grant" value="read ${defaultServer}"`);
    expect(form.text).not.toContain('hidden.console.test');

    const created = await post(
      `/console/environments/${tenant.environmentId}/keypairs/new`,
      [field('_csrf', csrfOf(form.text)), field('name', 'payer'), field('expiry', 'never'), field('grant', `read ${defaultServer}`), field('grant', 'refund https://payments.console.test'), field('autoDisable', 'default')].join('&'),
    );
    expect(created.status).toBe(303);
    const [keypair] = (await kg.keygate.keypairs.listKeypairs({ accountId: tenant.accountId, environmentId: tenant.environmentId }, { q: 'payer', limit: 10 }));
    expect(keypair!.grants.map((grant) => ({ resourceServer: grant.resourceServer, scopes: grant.scopes }))).toEqual([
      { resourceServer: defaultServer, scopes: ['read'] },
      { resourceServer: 'https://payments.console.test', scopes: ['refund'] },
    ].sort((a, b) => (a.resourceServer < b.resourceServer ? -1 : 1)));

    const shown = await page(`/console/keypairs/${keypair!.clientId}?tab=grants`);
    expect(shown.text).toContain('<li><code>https://payments.console.test</code>: refund</li>');
    expect(shown.text).toContain('name="grant" value="refund https://payments.console.test" checked');
    expect(shown.text).not.toContain('name="grant" value="read https://payments.console.test" checked');

    // The edit form replaces the grants: payments read and refund, nothing at the default server.
    const edited = await post(`/console/keypairs/${keypair!.clientId}/update`, [field('_csrf', csrfOf(shown.text)), field('comment', ''), field('grant', 'read https://payments.console.test'), field('grant', 'refund https://payments.console.test')].join('&'));
    expect(edited.status).toBe(303);
    const after = await kg.keygate.keypairs.getKeypair(keypair!.clientId);
    expect(after.grants.map((grant) => [grant.resourceServer, grant.scopes])).toEqual([['https://payments.console.test', ['read', 'refund']]]);
    expect(after.scopes).toEqual([]);

    // A forged grant at a server hidden from the account is refused, naming the field.
    const forged = await post(`/console/keypairs/${keypair!.clientId}/update`, [field('_csrf', csrfOf(shown.text)), field('comment', ''), field('grant', 'secret https://hidden.console.test')].join('&'));
    expect(forged.status).toBe(400);
    expect(forged.text).toContain('grants[0].resourceServer');
    expect((await kg.keygate.keypairs.getKeypair(keypair!.clientId)).version).toBe(after.version);
  });
});
