import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminToken } from '../support/admin.js';
import { startServerProcess, type ServerProcess } from '../support/cli.js';
import { createKeypair, createTenant, requestToken, startTestKeygate, type Tenant, type TestKeygate } from '../support/keygate.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp_proxy.js';
import { waitFor } from '../support/wait.js';

// A real PostgreSQL behind a loopback proxy that the test hangs or cuts, leaving the
// shared server alone: runs in the PostgreSQL pass of CI (TEST_DATABASE_URL).
const databaseUrl = process.env.TEST_DATABASE_URL;

describe.runIf(databaseUrl)('a hung or unreachable PostgreSQL: 503 with Retry-After within 5 s', () => {
  let local: TestKeygate;
  let other: ServerProcess;
  let proxy: TcpProxy;
  let tenant: Tenant;
  let bearer: string;

  beforeAll(async () => {
    local = await startTestKeygate();
    tenant = await createTenant(local.keygate);
    bearer = `Bearer ${await adminToken(local.keygate, local.keygate.config.operatorEmail)}`;
    const target = new URL(databaseUrl!);
    proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port) });
    const dir = await mkdtemp(path.join(tmpdir(), 'keygate-hung-'));
    other = await startServerProcess({ DATABASE_URL: proxy.url(databaseUrl!), KEYS_FILE: path.join(local.dir, 'jwks.json'), ISSUER: local.keygate.config.issuer, LAST_USED_FLUSH_SECONDS: '3600' }, dir);
  });

  afterAll(async () => {
    await other?.stop();
    await proxy?.close();
    await local?.close();
  });

  async function timed<T>(request: () => PromiseLike<T>): Promise<{ response: T; ms: number }> {
    const started = Date.now();
    const response = await request();
    return { response, ms: Date.now() - started };
  }

  async function untilReady(): Promise<void> {
    let status = 0;
    await waitFor(async () => {
      const ready = await supertest(other.url).get('/readyz');
      status = ready.status;
      return status === 200 && ready.body.checks.changeFeed === 'up';
    }, { timeoutMs: 20_000, intervalMs: 100 });
    expect(status).toBe(200);
  }

  it('hung (nothing answers): an uncached token request and an admin create answer 503 in time, and nothing is half-written', async () => {
    const { keypair, clientSecret } = await createKeypair(local.keygate, { owner: { environmentId: tenant.environmentId } });
    const name = `written while hung ${Date.now()}`;
    proxy.pause();
    try {
      const token = await timed(() => requestToken(supertest(other.url), { clientId: keypair.clientId, clientSecret }));
      expect(token.response.status).toBe(503);
      expect(token.response.body).toEqual({ error: 'temporarily_unavailable', error_description: 'the authorization server cannot reach its database; retry shortly' });
      expect(token.response.headers['retry-after']).toBe('5');
      expect(token.ms).toBeLessThan(5000);

      const create = await timed(() => supertest(other.url).post(`/admin/v1/environments/${tenant.environmentId}/keypairs`).set('Authorization', bearer).send({ name, scopes: ['read'] }));
      expect(create.response.status).toBe(503);
      expect(create.response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(create.response.headers['retry-after']).toBe('5');
      expect(create.response.body).toMatchObject({ status: 503, code: 'database_unavailable' });
      expect(create.ms).toBeLessThan(5000);
    } finally {
      proxy.resume();
    }
    await untilReady();
    // The bytes held by the proxy reached PostgreSQL after all, and were answered: still no keypair, no audit event.
    expect(await waitFor(() => proxy.awaitingAnswer() === 0)).toBe(true);
    expect(await local.keygate.db.knex('keypairs').where({ name }).count<Array<{ count: number }>>('* as count')).toEqual([{ count: 0 }]);
    expect(await local.keygate.db.knex('audit_events').whereRaw("after->>'name' = ?", [name]).count<Array<{ count: number }>>('* as count')).toEqual([{ count: 0 }]);
    expect((await requestToken(supertest(other.url), { clientId: keypair.clientId, clientSecret })).status).toBe(200);
  });

  it('unreachable (connections cut and refused): the admin API answers 503, not 500; a cached keypair is served from the cache, and that is logged', async () => {
    const cached = await createKeypair(local.keygate, { owner: { environmentId: tenant.environmentId } });
    const uncached = await createKeypair(local.keygate, { owner: { environmentId: tenant.environmentId } });
    expect((await requestToken(supertest(other.url), { clientId: cached.keypair.clientId, clientSecret: cached.clientSecret })).status).toBe(200);
    proxy.cutAll();
    try {
      const read = await timed(() => supertest(other.url).get(`/admin/v1/keypairs/${cached.keypair.clientId}`).set('Authorization', bearer));
      expect(read.response.status).toBe(503);
      expect(read.response.headers['retry-after']).toBe('5');
      expect(read.response.body).toMatchObject({ status: 503, code: 'database_unavailable' });
      expect(read.ms).toBeLessThan(5000);

      const refused = await timed(() => requestToken(supertest(other.url), { clientId: uncached.keypair.clientId, clientSecret: uncached.clientSecret }));
      expect(refused.response.status).toBe(503);
      expect(refused.response.headers['retry-after']).toBe('5');
      expect(refused.ms).toBeLessThan(5000);

      // The feed is down and the database unreachable: the last known keypair is served.
      expect((await requestToken(supertest(other.url), { clientId: cached.keypair.clientId, clientSecret: cached.clientSecret })).status).toBe(200);
      expect(other.output()).toMatch(/"msg":"database unreachable: serving keypairs from the cache"/);
    } finally {
      proxy.refuseNew(false);
    }
    await untilReady();
  });
});
