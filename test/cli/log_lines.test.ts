import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { freePort, runCli } from '../support/cli.js';

it("knex's own warnings reach stdout as JSON log lines, like every other line", async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'keygate-knex-log-'));
  // Nothing listens there: knex warns that acquiring a connection failed.
  const result = await runCli(['serve'], { KEYS_FILE: path.join(dir, 'jwks.json'), DATABASE_URL: `postgres://keygate@127.0.0.1:${await freePort()}/keygate` }, dir);
  expect(result.code).toBe(1);
  const lines = result.stdout.split('\n').filter(Boolean);
  const parsed = lines.map((line) => {
    try {
      return JSON.parse(line) as { msg?: string; level?: string; detail?: string };
    } catch {
      return { notJson: line };
    }
  });
  expect(parsed.filter((line) => 'notJson' in line)).toEqual([]);
  expect(parsed).toContainEqual(expect.objectContaining({ msg: 'knex', level: 'warn', detail: expect.stringMatching(/ECONNREFUSED/) }));
  expect(result.stdout).not.toMatch(/\n\s+at /);
});
