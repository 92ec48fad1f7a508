import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintConsoleLink } from '../../src/console/sign_in.js';
import { createUser, type TestUser } from '../support/admin.js';
import { createKeypair, createTenant, startTestKeygate, whileTableLocked, type Tenant, type TestKeygate } from '../support/keygate.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp_proxy.js';

// A database that does not answer is a 503 page with Retry-After: never "not found",
// never a sign-in page, never a 500. On a real PostgreSQL (TEST_DATABASE_URL), where a
// table lock held by the test makes exactly one lookup time out, and a loopback proxy
// cuts every connection, leaving the shared server alone.
const databaseUrl = process.env.TEST_DATABASE_URL;

async function signIn(kg: TestKeygate, email: string): Promise<string> {
  const link = await mintConsoleLink(kg.keygate.config, kg.keygate.keySet(), email, Math.floor(kg.clock.now().getTime() / 1000));
  const response = await supertest(kg.keygate.callback()).post('/console/sign-in').type('form').send({ token: new URL(link).searchParams.get('token')! });
  expect(response.status).toBe(303);
  return response.headers['set-cookie']![0]!.split(';')[0]!;
}

function expectUnavailablePage(response: supertest.Response): void {
  expect(response.status).toBe(503);
  expect(response.headers['retry-after']).toBe('5');
  expect(response.text).toContain('<title>Service unavailable · Keygate</title>');
}

describe.runIf(databaseUrl)('console: one lookup that times out', () => {
  let kg: TestKeygate;
  let tenant: Tenant;
  let admin: TestUser;

  beforeAll(async () => {
    kg = await startTestKeygate({ DATABASE_STATEMENT_TIMEOUT: '1' });
    tenant = await createTenant(kg.keygate);
    admin = await createUser(kg.keygate, { environments: [{ environmentId: tenant.environmentId, accountId: tenant.accountId }] });
  });
  afterAll(() => kg?.close());

  const whileLocked = <T>(table: 'keypairs' | 'users', request: () => PromiseLike<T>) => whileTableLocked(kg.keygate.db.knex, table, request);

  it("a keypair's page answers 503 when the keypair cannot be read, not 404", async () => {
    const cookie = await signIn(kg, admin.email);
    const { keypair } = await createKeypair(kg.keygate, { owner: { environmentId: tenant.environmentId } });
    const page = await whileLocked('keypairs', () => supertest(kg.keygate.callback()).get(`/console/keypairs/${keypair.clientId}`).set('Cookie', cookie));
    expectUnavailablePage(page);
    expect(page.text).not.toContain('Keypair not found.');
    expect((await supertest(kg.keygate.callback()).get(`/console/keypairs/${keypair.clientId}`).set('Cookie', cookie)).status).toBe(200);
  });

  it('a session whose admin cannot be read answers 503, not the sign-in page', async () => {
    const cookie = await signIn(kg, admin.email);
    const page = await whileLocked('users', () => supertest(kg.keygate.callback()).get('/console').set('Cookie', cookie));
    expectUnavailablePage(page);
    expect((await supertest(kg.keygate.callback()).get('/console').set('Cookie', cookie)).status).toBe(200);
  });

  it('a sign-in whose admin cannot be read answers 503, not "link not accepted"', async () => {
    const link = await mintConsoleLink(kg.keygate.config, kg.keygate.keySet(), admin.email, Math.floor(kg.clock.now().getTime() / 1000));
    const response = await whileLocked('users', () => supertest(kg.keygate.callback()).post('/console/sign-in').type('form').send({ token: new URL(link).searchParams.get('token')! }));
    expectUnavailablePage(response);
    expect(response.text).not.toContain('This link has expired');
  });
});

describe.runIf(databaseUrl)('console: every connection cut', () => {
  let proxy: TcpProxy;
  let kg: TestKeygate;
  let admin: TestUser;

  beforeAll(async () => {
    const target = new URL(databaseUrl!);
    proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port) });
    kg = await startTestKeygate({ DATABASE_URL: proxy.url(databaseUrl!) });
    admin = await createUser(kg.keygate, { operator: true });
  });
  afterAll(async () => {
    await kg?.close();
    await proxy?.close();
  });

  it('a signed-in page answers 503 with Retry-After, not 500', async () => {
    const cookie = await signIn(kg, admin.email);
    expect((await supertest(kg.keygate.callback()).get('/console').set('Cookie', cookie)).status).toBe(200);
    proxy.cutAll();
    try {
      expectUnavailablePage(await supertest(kg.keygate.callback()).get('/console').set('Cookie', cookie));
    } finally {
      proxy.refuseNew(false);
    }
  });
});
