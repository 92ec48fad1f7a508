import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import knexFactory, { type Knex } from 'knex';
import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { feedApplicationName } from '../../src/db/notify.js';
import { adminToken } from '../support/admin.js';
import { startServerProcess, type ServerProcess } from '../support/cli.js';
import { createKeypair, createTenant, requestToken, startTestKeygate, type Tenant, type TestKeygate } from '../support/keygate.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp_proxy.js';
import { waitFor } from '../support/wait.js';

// Two processes on one PostgreSQL: this file runs in the PostgreSQL pass of CI (TEST_DATABASE_URL).
const databaseUrl = process.env.TEST_DATABASE_URL;

describe.runIf(databaseUrl)('a disable is never lost while the change feed is down', () => {
  let local: TestKeygate;
  let other: ServerProcess;
  let proxy: TcpProxy;
  let admin: Knex;
  let tenant: Tenant;
  let token: string;

  beforeAll(async () => {
    local = await startTestKeygate();
    tenant = await createTenant(local.keygate);
    token = await adminToken(local.keygate, local.keygate.config.operatorEmail);
    admin = knexFactory({ client: 'pg', connection: databaseUrl!, pool: { min: 0, max: 1 } });
    const target = new URL(databaseUrl!);
    proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port) });
    const dir = await mkdtemp(path.join(tmpdir(), 'keygate-feed-'));
    // The second process reaches PostgreSQL through the proxy, so the test can refuse its new connections.
    other = await startServerProcess({ DATABASE_URL: proxy.url(databaseUrl!), KEYS_FILE: path.join(local.dir, 'jwks.json'), ISSUER: local.keygate.config.issuer, LAST_USED_FLUSH_SECONDS: '3600' }, dir);
  });

  afterAll(async () => {
    await other?.stop();
    await proxy?.close();
    await admin?.destroy();
    await local?.close();
  });

  /** Terminates the other process's LISTEN backend (its connection through the proxy) and waits until it is gone. */
  async function terminateListener(): Promise<void> {
    const { rows } = await admin.raw<{ rows: Array<{ pid: number; application_name: string }> }>(
      "select pid, application_name from pg_stat_activity where query like 'LISTEN %' and client_port = any(?)",
      [proxy.upstreamPorts()],
    );
    expect(rows).toHaveLength(1);
    // Named, so an operator finds it in pg_stat_activity.
    expect(rows[0]!.application_name).toBe(feedApplicationName(other.child.pid));
    const { rows: [terminated] } = await admin.raw<{ rows: Array<{ ok: boolean }> }>('select pg_terminate_backend(?, 5000) as ok', [rows[0]!.pid]);
    expect(terminated!.ok).toBe(true);
  }

  /** PATCH through the in-process Keygate's admin API, as an operator would. */
  async function setEnabled(clientId: string, enabled: boolean): Promise<void> {
    const response = await local.http.patch(`/admin/v1/keypairs/${clientId}`).set('Authorization', `Bearer ${token}`).send({ enabled });
    expect(response.status).toBe(200);
  }

  async function tokensFromOther(client: { clientId: string; clientSecret: string }, count: number): Promise<number[]> {
    const statuses: number[] = [];
    for (let i = 0; i < count; i += 1) statuses.push((await requestToken(supertest(other.url), client)).status);
    return statuses;
  }

  async function feedOfOther(): Promise<{ status: number; body: { checks: { changeFeed: string; database: string } } }> {
    const response = await supertest(other.url).get('/readyz');
    return { status: response.status, body: response.body };
  }

  async function untilFeedIs(state: 'up' | 'down'): Promise<void> {
    await waitFor(async () => (await feedOfOther()).body.checks.changeFeed === state, { timeoutMs: 15_000 });
    expect((await feedOfOther()).body.checks.changeFeed).toBe(state);
  }

  it('LISTEN backend terminated, then a disable at once: 0 tokens from the other process after the 200', async () => {
    const { keypair, clientSecret } = await createKeypair(local.keygate, { owner: { environmentId: tenant.environmentId } });
    const client = { clientId: keypair.clientId, clientSecret };
    expect(await tokensFromOther(client, 2)).toEqual([200, 200]);

    await terminateListener();
    await setEnabled(client.clientId, false);
    const statuses = await tokensFromOther(client, 40);
    expect(statuses.filter((status) => status === 200)).toHaveLength(0);
    expect(new Set(statuses)).toEqual(new Set([401]));

    await untilFeedIs('up');
    await setEnabled(client.clientId, true);
    expect(await tokensFromOther(client, 1)).toEqual([200]);
  });

  it('LISTEN cannot reconnect while pooled connections work: 0 tokens after a disable, and /readyz shows the feed down', async () => {
    const { keypair, clientSecret } = await createKeypair(local.keygate, { owner: { environmentId: tenant.environmentId } });
    const client = { clientId: keypair.clientId, clientSecret };
    expect(await tokensFromOther(client, 2)).toEqual([200, 200]);
    // Open a few pooled connections, which keep working through the proxy.
    await Promise.all(Array.from({ length: 6 }, () => supertest(other.url).get('/readyz')));

    proxy.refuseNew(true);
    try {
      await terminateListener();
      await untilFeedIs('down');
      const ready = await feedOfOther();
      // Still ready: the process answers correctly, reading each keypair from the database.
      expect(ready).toEqual({ status: 200, body: { status: 'ready', checks: { database: 'ok', keys: 'ok', changeFeed: 'down' } } });

      await setEnabled(client.clientId, false);
      expect(await tokensFromOther(client, 30)).toEqual(Array(30).fill(401));
      // Reconnection keeps failing (with backoff), and still no token.
      await waitFor(() => (other.output().match(/change feed reconnect failed/g) ?? []).length >= 3, { timeoutMs: 10_000 });
      expect((other.output().match(/change feed reconnect failed/g) ?? []).length).toBeGreaterThanOrEqual(3);
      expect(await tokensFromOther(client, 10)).toEqual(Array(10).fill(401));
      // An enable is seen at once too: every request reads the keypair.
      await setEnabled(client.clientId, true);
      expect(await tokensFromOther(client, 1)).toEqual([200]);
    } finally {
      proxy.refuseNew(false);
    }
    await untilFeedIs('up');
  });
});
