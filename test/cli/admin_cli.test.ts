import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, runCli, startServerProcess, type ServerProcess } from '../support/cli.js';

/**
 * The admin CLI against a real `keygate serve` on a fresh embedded database: the
 * commands an admin types, checked by what they print and by what the server then does.
 */
let dir: string;
let server: ServerProcess;
let env: Record<string, string>;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'keygate-admin-cli-'));
  const port = await freePort();
  env = { PORT: String(port), ISSUER: `http://127.0.0.1:${port}`, DATA_DIR: path.join(dir, 'data'), KEYS_FILE: path.join(dir, 'jwks.json'), LAST_USED_FLUSH_SECONDS: '1' };
  server = await startServerProcess(env, dir);
});

afterAll(async () => {
  await server?.stop();
});

const keygate = (...args: string[]) => runCli(args, { ...env, KEYGATE_URL: server.url }, dir);

async function token(clientId: string, clientSecret: string) {
  return fetch(`${server.url}/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials',
  });
}

describe('keygate keypairs', () => {
  it('walks a keypair through its life', async () => {
    const created = await keygate('keypairs', 'create', '--name', 'billing', '--scopes', 'read write', '--comment', 'nightly', '--expires', '30d');
    expect(created.code).toBe(0);
    expect(created.stderr).toMatch(/using environment development \(env_\w+\)/);
    expect(created.stdout).toContain('This secret is shown once and cannot be shown again');
    const clientId = /client_id\s+(kp_\w+)/.exec(created.stdout)![1]!;
    const secret = /client_secret\s+(kgs_\w+)/.exec(created.stdout)![1]!;
    expect(created.stdout).toContain(`curl -s -u "${clientId}:${secret}" -d grant_type=client_credentials ${server.url}/token`);
    expect((await token(clientId, secret)).status).toBe(200);

    const listed = await keygate('keypairs', 'list');
    expect(listed.stdout).toMatch(new RegExp(`${clientId}\\s+billing\\s+enabled\\s+read write\\s+kgs_••••${secret.slice(-4)}\\s+(never|\\S+Z)\\s+\\S+Z`));
    expect(listed.stdout).not.toContain(secret);
    const json = JSON.parse((await keygate('keypairs', 'list', '--json')).stdout) as { data: Array<{ clientId: string }> };
    expect(json.data.map((keypair) => keypair.clientId)).toContain(clientId);

    const disabled = await keygate('keypairs', 'disable', clientId, '--reason', 'leaked');
    expect(disabled.stdout.trim()).toBe(`disabled ${clientId} (billing)`);
    expect((await token(clientId, secret)).status).toBe(401);
    expect((await keygate('keypairs', 'show', clientId)).stdout).toMatch(/state\s+disabled \(leaked\)/);
    expect((await keygate('keypairs', 'enable', clientId)).code).toBe(0);
    expect((await token(clientId, secret)).status).toBe(200);

    const updated = await keygate('keypairs', 'update', clientId, '--scopes', 'read', '--comment', 'owned by data');
    expect(updated.stdout).toMatch(/scopes\s+read\n/);
    expect(updated.stdout).toMatch(/comment\s+owned by data/);

    const rotated = await keygate('keypairs', 'rotate', clientId, '--grace', '600');
    const newSecret = /client_secret\s+(kgs_\w+)/.exec(rotated.stdout)![1]!;
    expect(rotated.stdout).toContain('The previous secret keeps working for 600 seconds.');
    expect((await token(clientId, secret)).status).toBe(200);
    expect((await token(clientId, newSecret)).status).toBe(200);

    const events = await keygate('keypairs', 'events', clientId);
    expect(events.stdout.split('\n').slice(1, 6).map((line) => line.split(/\s+/)[1])).toEqual(['keypair.rotated', 'keypair.updated', 'keypair.enabled', 'keypair.disabled', 'keypair.created']);

    expect((await keygate('keypairs', 'delete', clientId)).stdout.trim()).toBe(`deleted ${clientId}`);
    expect((await token(clientId, newSecret)).status).toBe(401);
    const gone = await keygate('keypairs', 'show', clientId);
    expect(gone.code).toBe(1);
    expect(gone.stderr.trim()).toBe('keygate: Keypair not found.');
  });

  it('prints every bad field of a refused create and exits 1', async () => {
    const refused = await keygate('keypairs', 'create', '--name', 'x', '--scopes', 'read ghost', '--expires', '2w');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('keygate: The request has invalid fields.');
    expect(refused.stderr).toContain('expiresIn: must be 1d, 7d, 30d, 90d');
    expect(refused.stderr).toContain('scopes: not defined by any resource server: ghost');
  });

  it('says when the server cannot be reached', async () => {
    const port = await freePort();
    const result = await runCli(['keypairs', 'list', '--url', `http://127.0.0.1:${port}`], env, dir);
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toBe(`keygate: cannot reach http://127.0.0.1:${port}: is the server running (npm start)?`);
  });
});

describe('keygate accounts, environments, users, admins, resource-servers', () => {
  it('sets up a tenant and an environment admin who then manages keypairs alone', async () => {
    const account = JSON.parse((await keygate('accounts', 'create', '--name', 'Acme', '--json')).stdout) as { id: string };
    const environment = JSON.parse((await keygate('environments', 'create', '--account', account.id, '--name', 'production', '--json')).stdout) as { id: string };
    expect((await keygate('environments', 'list', '--account', account.id)).stdout).toMatch(new RegExp(`${environment.id}\\s+production\\s+active`));
    const user = JSON.parse((await keygate('users', 'create', '--email', 'dana@acme.test', '--name', 'Dana', '--json')).stdout) as { id: string };
    expect((await keygate('users', 'list')).stdout).toContain('dana@acme.test');
    expect((await keygate('admins', 'grant', '--user', user.id, '--environment', environment.id)).stdout.trim()).toBe(`granted admin for ${user.id} on ${environment.id}`);

    // Now two environments exist: the operator must say which.
    const ambiguous = await keygate('keypairs', 'list');
    expect(ambiguous.code).toBe(1);
    expect(ambiguous.stderr).toContain('pick one with --environment');

    // Dana has one environment, so her commands need no flag.
    const danaToken = (await keygate('admin-token', '--email', 'dana@acme.test')).stdout.trim();
    const created = await runCli(['keypairs', 'create', '--name', 'acme-sync', '--scopes', 'read', '--token', danaToken], { ...env, KEYGATE_URL: server.url }, dir);
    expect(created.code).toBe(0);
    expect(created.stderr).toContain(`using environment production (${environment.id})`);

    const identifier = 'https://reports.acme.test/';
    expect((await keygate('resource-servers', 'create', '--identifier', identifier, '--name', 'Reports', '--scopes', 'reports:read', '--ttl', '120')).code).toBe(0);
    expect((await keygate('resource-servers', 'list')).stdout).toMatch(/https:\/\/reports\.acme\.test\/\s+Reports\s+reports:read\s+120/);

    expect((await keygate('admins', 'revoke', '--user', user.id, '--environment', environment.id)).code).toBe(0);
    expect((await keygate('environments', 'close', environment.id)).stdout).toContain('closed environment');
    expect((await keygate('accounts', 'close', account.id)).stdout).toContain('closed account');
  });
});
