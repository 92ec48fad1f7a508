import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServerProcess, type ServerProcess } from '../support/cli.js';
import { createKeypair, createTenant, OPERATOR, requestToken, startTestKeygate, type Tenant, type TestKeygate } from '../support/keygate.js';
import { waitFor } from '../support/wait.js';

// Several processes need a real PostgreSQL (the embedded PGlite belongs to one
// process), so this file runs in the PostgreSQL pass of CI (TEST_DATABASE_URL).
const databaseUrl = process.env.TEST_DATABASE_URL;
/**
 * The other processes re-read a cached keypair only after a day (CLIENT_CACHE_MAX_AGE),
 * far past any wait here: a change they see can only have come by the change feed's
 * notice, which is what "at once" means, however slow the machine.
 */
const CACHED_FOR_A_DAY = { CLIENT_CACHE_MAX_AGE: '86400' };

describe.runIf(databaseUrl)('two processes on one PostgreSQL', () => {
  let local: TestKeygate;
  let other: ServerProcess;
  let tenant: Tenant;

  beforeAll(async () => {
    local = await startTestKeygate();
    tenant = await createTenant(local.keygate);
    const dir = await mkdtemp(path.join(tmpdir(), 'keygate-second-'));
    // The second process shares the key set through KEYS_FILE, as the README describes.
    other = await startServerProcess({ DATABASE_URL: databaseUrl!, KEYS_FILE: path.join(local.dir, 'jwks.json'), ISSUER: local.keygate.config.issuer, LAST_USED_FLUSH_SECONDS: '3600', ...CACHED_FOR_A_DAY }, dir);
  });

  afterAll(async () => {
    await other?.stop();
    await local?.close();
  });

  /** Asks the other process for tokens until `done` holds (NOTIFY delivery takes milliseconds); the last status. */
  async function untilOther(client: { clientId: string; clientSecret: string }, done: (status: number) => boolean): Promise<{ status: number }> {
    let status = 0;
    await waitFor(async () => done((status = (await requestToken(supertest(other.url), client)).status)), { intervalMs: 0 });
    return { status };
  }

  it('a disable in one process reaches the other process at once', async () => {
    const { keypair, clientSecret } = await createKeypair(local.keygate, { owner: { environmentId: tenant.environmentId } });
    const client = { clientId: keypair.clientId, clientSecret };
    // The other process now holds the keypair in its client cache.
    expect((await requestToken(supertest(other.url), client)).status).toBe(200);
    expect((await requestToken(supertest(other.url), client)).status).toBe(200);

    await local.keygate.keypairs.disableKeypair(OPERATOR, client.clientId, 'compromised');
    const disabled = await untilOther(client, (status) => status === 401);
    // Before the cached copy's day was up: by the change feed (see CACHED_FOR_A_DAY).
    expect(disabled.status).toBe(401);

    await local.keygate.keypairs.enableKeypair(OPERATOR, client.clientId);
    expect((await untilOther(client, (status) => status === 200)).status).toBe(200);
  });

  it('a rotation with no grace and a delete reach the other process too', async () => {
    const first = await createKeypair(local.keygate, { owner: { environmentId: tenant.environmentId } });
    const clientId = first.keypair.clientId;
    expect((await requestToken(supertest(other.url), { clientId, clientSecret: first.clientSecret })).status).toBe(200);

    const second = await local.keygate.keypairs.rotateSecret(OPERATOR, clientId, 0);
    expect((await untilOther({ clientId, clientSecret: first.clientSecret }, (status) => status === 401)).status).toBe(401);
    expect((await requestToken(supertest(other.url), { clientId, clientSecret: second.clientSecret })).status).toBe(200);

    await local.keygate.keypairs.deleteKeypair(OPERATOR, clientId);
    expect((await untilOther({ clientId, clientSecret: second.clientSecret }, (status) => status === 401)).status).toBe(401);
  });

  it('WORKERS=2 serves one port from two processes, and a disable reaches both', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'keygate-workers-'));
    const workers = await startServerProcess({ DATABASE_URL: databaseUrl!, KEYS_FILE: path.join(local.dir, 'jwks.json'), ISSUER: local.keygate.config.issuer, WORKERS: '2', ...CACHED_FOR_A_DAY }, dir);
    try {
      await waitFor(() => (workers.output().match(/Keygate listening/g) ?? []).length >= 2);
      expect(workers.output().match(/Keygate listening/g)).toHaveLength(2);
      const { keypair, clientSecret } = await createKeypair(local.keygate, { owner: { environmentId: tenant.environmentId } });
      const client = { clientId: keypair.clientId, clientSecret };
      // Fresh connections, so the primary spreads them over both workers.
      const statuses = async () => Promise.all(Array.from({ length: 8 }, () => requestToken(supertest(workers.url), client).set('Connection', 'close').then((response) => response.status)));
      expect(await statuses()).toEqual(Array(8).fill(200));
      await local.keygate.keypairs.disableKeypair(OPERATOR, client.clientId);
      // NOTIFY reaches both workers within milliseconds; ask until it has (by the feed: see CACHED_FOR_A_DAY).
      let seen: number[] = [];
      await waitFor(async () => (seen = await statuses()).every((status) => status === 401), { intervalMs: 0 });
      expect(seen).toEqual(Array(8).fill(401));
    } finally {
      expect(await workers.stop()).toBe(0);
    }
  });

  it('SIGTERM flushes the batched last-used times and exits 0', async () => {
    const { keypair, clientSecret } = await createKeypair(local.keygate, { owner: { environmentId: tenant.environmentId } });
    expect((await requestToken(supertest(other.url), { clientId: keypair.clientId, clientSecret })).status).toBe(200);
    expect((await local.keygate.keypairs.getKeypair(keypair.clientId)).lastUsedAt).toBeNull();
    expect(await other.stop('SIGTERM')).toBe(0);
    expect((await local.keygate.keypairs.getKeypair(keypair.clientId)).lastUsedAt).toBeInstanceOf(Date);
  });
});
