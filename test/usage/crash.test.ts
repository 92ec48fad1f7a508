import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { wrongSecret } from '../support/admin.js';
import { freePort, runCli, startServerProcess, type ServerProcess } from '../support/cli.js';
import { waitFor } from '../support/wait.js';

/** Waits until the server's debug lines say `count` usage records were written, at most 15 s. */
async function untilUsageWritten(server: ServerProcess, count: number): Promise<void> {
  const written = () =>
    server
      .output()
      .split('\n')
      .filter((line) => line.includes('"usage written"'))
      .reduce((sum, line) => sum + (JSON.parse(line) as { records: number }).records, 0);
  if (!(await waitFor(() => written() >= count, { timeoutMs: 15_000 }))) throw new Error(`${written()} of ${count} usage records written: ${server.output().slice(-3000)}`);
}

describe('kill -9', () => {
  it('loses no usage totals written by a flush: the summary after a restart counts every request before it', { timeout: 180_000 }, async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'keygate-crash-'));
    const port = await freePort();
    // A flush a second; debug lines say when one has written (the test waits on that, not on a sleep).
    const env = { PORT: String(port), ISSUER: `http://127.0.0.1:${port}`, DATA_DIR: path.join(dir, 'data'), KEYS_FILE: path.join(dir, 'jwks.json'), LAST_USED_FLUSH_SECONDS: '1', LOG_LEVEL: 'debug' };
    const server = await startServerProcess(env, dir);
    let clientId: string;
    try {
      const created = await runCli(['keypairs', 'create', '--name', 'crashing', '--scopes', 'read', '--json'], { ...env, KEYGATE_URL: server.url }, dir);
      const keypair = JSON.parse(created.stdout) as { clientId: string; clientSecret: string };
      clientId = keypair.clientId;
      const token = (secret: string) =>
        fetch(`${server.url}/token`, {
          method: 'POST',
          headers: { authorization: `Basic ${Buffer.from(`${keypair.clientId}:${secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
          body: 'grant_type=client_credentials',
        });
      for (let i = 0; i < 10; i += 1) expect((await token(keypair.clientSecret)).status).toBe(200);
      for (let i = 0; i < 2; i += 1) expect((await token(wrongSecret(keypair.clientSecret))).status).toBe(401);
      await untilUsageWritten(server, 12);
    } finally {
      expect(await server.stop('SIGKILL')).toBeNull();
    }

    const again = await startServerProcess(env, dir);
    try {
      const usage = await runCli(['keypairs', 'usage', clientId, '--json'], { ...env, KEYGATE_URL: again.url }, dir);
      const summary = JSON.parse(usage.stdout) as { last24h: { issued: number; refused: number }; recentRequests: unknown[] };
      expect(summary.last24h).toEqual({ issued: 10, refused: 2 });
      expect(summary.recentRequests).toHaveLength(12);
    } finally {
      await again.stop();
    }
  });
});
