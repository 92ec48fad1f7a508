import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { freePort, KEYGATE_BIN } from '../support/cli.js';

it('WORKERS=2 with PostgreSQL unreachable: the supervisor re-forks with backoff, not in a tight loop', { timeout: 120_000 }, async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'keygate-supervisor-'));
  const { DATABASE_URL: _d, KEYS_JWKS: _k, PORT: _p, ISSUER: _i, ...env } = process.env;
  // Nothing listens on this port: every worker fails to connect and exits 1.
  const unreachable = `postgres://keygate@127.0.0.1:${await freePort()}/keygate`;
  const child = spawn(process.execPath, [KEYGATE_BIN, 'serve'], {
    env: { ...env, LOG_LEVEL: 'warn', WORKERS: '2', PORT: String(await freePort()), DATABASE_URL: unreachable, KEYS_FILE: path.join(dir, 'jwks.json') },
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout.resume();
  const exits = () => stderr.match(/keygate: worker \d+ exited with 1 after [\d.]+ s; starting another in [\d.]+ s/g) ?? [];
  try {
    // Every exit the first 10 s after the first one, and at least three (under load a worker takes seconds to fail).
    const deadline = Date.now() + 80_000;
    while (exits().length < 1 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    const windowEnd = Date.now() + 10_000;
    let inWindow = 0;
    while ((Date.now() < windowEnd || exits().length < 3) && Date.now() < deadline) {
      if (Date.now() < windowEnd) inWindow = exits().length;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // Replacements wait 1, 2, 4, 8 s: at most 5 exits in those 10 s however fast workers fail
    // (a tight loop made 11 forks in 10 s).
    expect(inWindow).toBeLessThanOrEqual(5);
    const delays = exits().map((line) => Number(/starting another in ([\d.]+) s/.exec(line)![1]));
    expect(delays.slice(0, 3)).toEqual([1, 2, 4]);
  } finally {
    child.kill('SIGTERM');
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(0);
  }
});
