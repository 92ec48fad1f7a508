import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser, type TestUser } from '../support/admin.js';
import { consoleSession, type ConsoleSession as Session } from '../support/console.js';
import { createKeypair, createTenant, requestToken, startTestKeygate, type Tenant, type TestKeygate } from '../support/keygate.js';

/**
 * The one view of a new secret across processes: two Keygates on one database stand
 * for two workers (or two servers behind a load balancer). The console POST reaches
 * one, the GET it redirects to the other, which must show the secret, once; and the
 * row it waited in must not hold the secret in any readable form.
 */
let a: TestKeygate;
let b: TestKeygate;
let tenant: Tenant;
let admin: TestUser;

beforeAll(async () => {
  a = await startTestKeygate();
  b = await startTestKeygate();
  tenant = await createTenant(a.keygate);
  admin = await createUser(a.keygate, { environments: [{ environmentId: tenant.environmentId, accountId: tenant.accountId }] });
});
afterAll(async () => {
  await b.close();
  await a.close();
});


const get = (kg: TestKeygate, session: Session, url: string) => supertest(kg.keygate.callback()).get(url).set('Cookie', session.cookie);
const post = (kg: TestKeygate, session: Session, url: string, form: Record<string, string | readonly string[]>) =>
  supertest(kg.keygate.callback()).post(url).set('Cookie', session.cookie).type('form').send({ _csrf: session.csrf, ...form });
const secretIn = (text: string) => /value="(kgs_[^"]+)"/.exec(text)?.[1];

/** The waiting row of a view, as the database holds it (read before the view takes it). */
const viewRow = (location: string) => b.keygate.db.knex('console_secret_views').where({ id: location.split('/').pop() }).first<Record<string, unknown> | undefined>();

/** Asserts `row` holds `secret` in no form: clear, base64, base64url or hex, as text or bytes. */
function expectSecretNotIn(row: Record<string, unknown>, secret: string) {
  const raw = Buffer.from(secret);
  const forms = [secret, secret.slice('kgs_'.length), raw.toString('base64'), raw.toString('base64url'), raw.toString('hex'), raw.toString('hex').toUpperCase()];
  const haystack = Object.values(row).map((value) => (Buffer.isBuffer(value) ? value.toString('latin1') : String(value))).join('\n');
  for (const form of forms) expect(haystack).not.toContain(form);
}

describe('the one view of a new secret, across processes', () => {
  it('a rotate through one process is shown once through another, from an encrypted row', async () => {
    const session = await consoleSession(a, admin.email);
    const { keypair, clientSecret: previous } = await createKeypair(a.keygate, { owner: { environmentId: tenant.environmentId } });

    const rotated = await post(a, session, `/console/keypairs/${keypair.clientId}/rotate`, { gracePeriodSeconds: '0', confirm: 'yes' });
    expect(rotated.status, rotated.text).toBe(303);
    const location = rotated.headers.location!;
    const row = await viewRow(location);

    const shown = await get(b, session, location);
    expect(shown.status).toBe(200);
    expect(shown.text).toContain('the previous secret no longer works');
    const secret = secretIn(shown.text)!;
    expect(secret).toMatch(/^kgs_/);
    expect((await requestToken(a.http, { clientId: keypair.clientId, clientSecret: secret })).status).toBe(200);
    expect((await requestToken(a.http, { clientId: keypair.clientId, clientSecret: previous })).status).toBe(401);

    expect(row).toBeDefined();
    expect(row!.client_id).toBe(keypair.clientId);
    expectSecretNotIn(row!, secret);
    expect(await viewRow(location)).toBeUndefined();

    for (const kg of [b, a]) {
      const again = await get(kg, session, location);
      expect(again.status).toBe(410);
      expect(again.text).not.toContain(secret);
    }
  });

  it('a create through one process is shown once through another', async () => {
    const session = await consoleSession(b, admin.email);
    const created = await post(b, session, `/console/environments/${tenant.environmentId}/keypairs/new`, { name: 'made on b', grant: [`read ${b.keygate.catalog.defaultServer!.identifier}`], expiry: 'never' });
    expect(created.status, created.text).toBe(303);
    const location = created.headers.location!;
    const clientId = location.split('/')[3]!;
    const row = await viewRow(location);

    const shown = await get(a, session, location);
    expect(shown.status).toBe(200);
    const secret = secretIn(shown.text)!;
    expect(secret).toMatch(/^kgs_/);
    expect((await requestToken(b.http, { clientId, clientSecret: secret })).status).toBe(200);
    expect(row).toBeDefined();
    expectSecretNotIn(row!, secret);
    expect((row!.ciphertext as Buffer).toString('latin1')).not.toContain('made on b');

    expect((await get(b, session, location)).status).toBe(410);
    expect((await get(a, session, location)).status).toBe(410);
  });

  it('two requests for the same view at once, neither to the process that made it, show it once between them', async () => {
    const session = await consoleSession(a, admin.email);
    const { keypair } = await createKeypair(a.keygate, { owner: { environmentId: tenant.environmentId } });
    const rotated = await post(a, session, `/console/keypairs/${keypair.clientId}/rotate`, { gracePeriodSeconds: '0', confirm: 'yes' });
    expect(rotated.status, rotated.text).toBe(303);
    const answers = await Promise.all([get(b, session, rotated.headers.location!), get(b, session, rotated.headers.location!)]);
    expect(answers.map((answer) => answer.status).sort()).toEqual([200, 410]);
    expect(answers.filter((answer) => secretIn(answer.text) !== undefined)).toHaveLength(1);
  });
});
