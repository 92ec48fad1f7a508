import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, runCli, startServerProcess, type ServerProcess } from '../support/cli.js';
import { ownDatabase } from '../support/keygate.js';

/**
 * A server on a non-default PORT and ISSUER, and a CLI in another shell that knows only
 * DATA_DIR: the server records where it listens in DATA_DIR/server.json. On PostgreSQL
 * (TEST_DATABASE_URL) the server runs with DATABASE_URL and records it all the same.
 */
let dir: string;
let dataDir: string;
let server: ServerProcess;
let database: Awaited<ReturnType<typeof ownDatabase>>;
let issuer: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'keygate-discovery-'));
  dataDir = path.join(dir, 'data');
  const port = await freePort();
  issuer = `http://127.0.0.1:${port}`;
  database = await ownDatabase('discovery');
  // No KEYS_FILE: server and CLI share the default keys/jwks.json of their working directory.
  server = await startServerProcess({ PORT: String(port), ISSUER: issuer, DATA_DIR: dataDir, ...database.env }, dir);
});

afterAll(async () => {
  await server?.stop();
  await database?.drop();
});

/** A pid no process has any more. */
async function deadPid(): Promise<number> {
  const child = execFile(process.execPath, ['-e', '']);
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid!;
}

describe('the CLI finds the local server through DATA_DIR/server.json', () => {
  it('serve writes its URL and pid there, readable by its user only', async () => {
    const file = path.join(dataDir, 'server.json');
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ url: issuer, pid: server.child.pid });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it('an admin command with only DATA_DIR set reaches it and signs for its ISSUER', async () => {
    const listed = await runCli(['keypairs', 'list', '--json'], { DATA_DIR: dataDir }, dir);
    expect(listed.stderr).toBe('');
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout)).toMatchObject({ data: [] });
  });

  it('admin-token and console-link sign for that ISSUER too', async () => {
    const token = await runCli(['admin-token', '--operator'], { DATA_DIR: dataDir }, dir);
    expect(token.code).toBe(0);
    const payload = JSON.parse(Buffer.from(token.stdout.trim().split('.')[1]!, 'base64url').toString()) as { iss: string; aud: string };
    expect(payload).toMatchObject({ iss: issuer, aud: `${issuer}/admin` });
    const link = await runCli(['console-link', '--operator'], { DATA_DIR: dataDir }, dir);
    expect(link.stdout.startsWith(`${issuer}/console/sign-in?token=`)).toBe(true);
  });

  it('--url and KEYGATE_URL still win over the file', async () => {
    const elsewhere = `http://127.0.0.1:${await freePort()}`;
    const result = await runCli(['accounts', 'list'], { DATA_DIR: dataDir, KEYGATE_URL: elsewhere }, dir);
    expect(result.code).toBe(5);
    expect(result.stderr).toContain(`cannot reach ${elsewhere}:`);
  });

  it('ignores a file whose process is gone and falls back to ISSUER', async () => {
    const staleDir = path.join(dir, 'stale');
    await mkdir(staleDir);
    await writeFile(path.join(staleDir, 'server.json'), JSON.stringify({ url: issuer, pid: await deadPid() }));
    const port = await freePort();
    const result = await runCli(['accounts', 'list'], { DATA_DIR: staleDir, PORT: String(port) }, dir);
    expect(result.code).toBe(5);
    expect(result.stderr).toContain(`keygate: cannot reach http://localhost:${port}:`);
  });

  it('a clean shutdown removes the file', async () => {
    expect(await server.stop()).toBe(0);
    await expect(stat(path.join(dataDir, 'server.json'))).rejects.toThrow(/ENOENT/);
  });
});
