import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, runCli, startServerProcess, type ServerProcess } from '../support/cli.js';

/**
 * Commands that name a user by email ask the server whether that user exists, rather
 * than succeed now and fail later at sign-in or at the next API call.
 */
let dir: string;
let server: ServerProcess;
let env: Record<string, string>;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'keygate-user-emails-'));
  const port = await freePort();
  env = { PORT: String(port), ISSUER: `http://127.0.0.1:${port}`, DATA_DIR: path.join(dir, 'data'), KEYS_FILE: path.join(dir, 'jwks.json') };
  server = await startServerProcess(env, dir);
  expect((await keygate('users', 'create', '--email', 'dana@users.test', '--name', 'Dana')).code).toBe(0);
});

afterAll(async () => {
  await server?.stop();
});

const keygate = (...args: string[]) => runCli(args, { ...env, KEYGATE_URL: server.url }, dir);

async function membershipsOf(userId: string): Promise<Array<{ accountId: string | null; role: string }>> {
  const token = (await keygate('admin-token', '--operator')).stdout.trim();
  const response = await fetch(`${server.url}/admin/v1/users/${userId}`, { headers: { authorization: `Bearer ${token}` } });
  return ((await response.json()) as { memberships: Array<{ accountId: string | null; role: string }> }).memberships;
}

describe('console-link and admin-token --email', () => {
  it.each([['console-link'], ['admin-token']])('%s refuses an email no user has, with exit code 3', async (command) => {
    const result = await keygate(command, '--email', 'nobody@example.com');
    expect(result).toMatchObject({ code: 3, stdout: '' });
    expect(result.stderr).toBe(`keygate: no user has the email nobody@example.com on ${server.url}; keygate users create --email nobody@example.com adds one\n`);
  });

  it.each([['console-link'], ['admin-token']])('%s mints for a known user, whatever the case of A-Z', async (command) => {
    const result = await keygate(command, '--email', 'Dana@USERS.test');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(command === 'console-link' ? /^http:\/\/127\.0\.0\.1:\d+\/console\/\S+\n/ : /^ey[\w-]+\.[\w-]+\.[\w-]+\n$/);
  });

  it('with the server out of reach, mints anyway and warns on stderr that it could not check', async () => {
    const away = `http://127.0.0.1:${await freePort()}`;
    for (const command of ['console-link', 'admin-token']) {
      const result = await runCli([command, '--email', 'nobody@example.com', '--url', away], env, dir);
      expect(result.code).toBe(0);
      expect(result.stdout).not.toBe('');
      expect(result.stderr).toBe(`keygate: warning: could not check that nobody@example.com is a user of ${away} (cannot reach ${away}: is the server running (npm start)? If it listens elsewhere, set KEYGATE_URL or pass --url); minting anyway\n`);
    }
  });
});

describe('admins grant --user EMAIL', () => {
  it('grants to the user with that email, A-Z case-insensitively, and revokes the same way', async () => {
    const account = JSON.parse((await keygate('accounts', 'create', '--name', 'Emails', '--json')).stdout) as { id: string };
    const dana = (JSON.parse((await keygate('users', 'list', '--json')).stdout) as { data: Array<{ id: string; email: string }> }).data.find((user) => user.email === 'dana@users.test')!;

    const granted = await keygate('admins', 'grant', '--user', 'DANA@users.test', '--account', account.id);
    expect(granted.stderr).toBe('');
    expect(granted.stdout).toBe(`granted admin for DANA@users.test (${dana.id}) on ${account.id}\n`);
    expect(await membershipsOf(dana.id)).toContainEqual(expect.objectContaining({ accountId: account.id }));

    expect((await keygate('admins', 'revoke', '--user', 'dana@Users.test', '--account', account.id)).code).toBe(0);
    expect(await membershipsOf(dana.id)).not.toContainEqual(expect.objectContaining({ accountId: account.id }));
  });

  it('an email no user has is not found (exit 3), and no user is created', async () => {
    const account = JSON.parse((await keygate('accounts', 'create', '--name', 'Ghosts', '--json')).stdout) as { id: string };
    const refused = await keygate('admins', 'grant', '--user', 'ghost@users.test', '--account', account.id, '--json');
    expect(refused).toMatchObject({ code: 3, stdout: '' });
    expect(JSON.parse(refused.stderr)).toEqual({
      error: { status: null, code: 'not_found', title: 'Not found', detail: `no user has the email ghost@users.test on ${server.url}; keygate users create --email ghost@users.test adds one` },
    });
    expect((await keygate('users', 'list')).stdout).not.toContain('ghost@users.test');
  });
});
