import { once } from 'node:events';
import { access, mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wrongSecret } from '../support/admin.js';
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
    expect(listed.stdout).toMatch(new RegExp(`${clientId}\\s+billing\\s+enabled\\s+\\S+=read,write\\s+kgs_••••${secret.slice(-4)}\\s+(never|\\S+Z)\\s+\\S+Z`));
    expect(listed.stdout).not.toContain(secret);
    const json = JSON.parse((await keygate('keypairs', 'list', '--json')).stdout) as { data: Array<{ clientId: string }> };
    expect(json.data.map((keypair) => keypair.clientId)).toContain(clientId);

    const disabled = await keygate('keypairs', 'disable', clientId, '--reason', 'leaked');
    expect(disabled.stdout.trim()).toBe(`disabled ${clientId} (billing)`);
    const refused = await token(clientId, secret);
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { error: string }).error).toBe('invalid_client');
    expect((await keygate('keypairs', 'show', clientId)).stdout).toMatch(/state\s+disabled \(leaked\)/);
    expect((await keygate('keypairs', 'enable', clientId)).code).toBe(0);
    expect((await token(clientId, secret)).status).toBe(200);

    const updated = await keygate('keypairs', 'update', clientId, '--scopes', 'read', '--comment', 'owned by data', '--name', 'billing-export');
    expect(updated.stdout).toMatch(/grants\s+\S+=read\n/);
    expect(updated.stdout).toMatch(/name\s+billing-export\n/);
    expect(updated.stdout).toMatch(/comment\s+owned by data/);

    const rotated = await keygate('keypairs', 'rotate', clientId, '--grace', '600');
    const newSecret = /client_secret\s+(kgs_\w+)/.exec(rotated.stdout)![1]!;
    expect(rotated.stdout).toContain('The previous secret keeps working for 600 seconds.');
    expect((await token(clientId, secret)).status).toBe(200);
    expect((await token(clientId, newSecret)).status).toBe(200);

    const events = await keygate('keypairs', 'events', clientId);
    expect(events.stdout.split('\n').slice(1, 6).map((line) => line.split(/\s+/)[1])).toEqual(['keypair.rotated', 'keypair.updated', 'keypair.enabled', 'keypair.disabled', 'keypair.created']);
    expect(events.stdout).toMatch(/keypair\.disabled\s+operator@localhost\s+.*disabledReason=leaked/);
    expect(events.stdout).toMatch(/keypair\.rotated\s+.*gracePeriodSeconds=600/);

    expect((await keygate('keypairs', 'delete', clientId)).stdout.trim()).toBe(`deleted ${clientId}`);
    expect((await token(clientId, newSecret)).status).toBe(401);
    const gone = await keygate('keypairs', 'show', clientId);
    expect(gone.code).toBe(3);
    expect(gone.stderr.trim()).toBe('keygate: Keypair not found.');
  });

  it('prints names and comments with their control characters escaped, so a name cannot drive the terminal', async () => {
    // OSC 52 (write the clipboard) and a carriage return that would overwrite the line.
    const name = 'innocent\u001b]52;c;ZXZpbA==\u0007\rrewritten';
    const created = await keygate('keypairs', 'create', '--name', name, '--comment', 'bell\u0007', '--scopes', 'read', '--json');
    expect(created.code, created.stderr).toBe(0);
    const { clientId } = JSON.parse(created.stdout) as { clientId: string };
    for (const printed of [(await keygate('keypairs', 'show', clientId)).stdout, (await keygate('keypairs', 'list')).stdout]) {
      expect(printed).toContain('innocent\\u001b]52;c;ZXZpbA==\\u0007\\u000drewritten');
      expect(printed).not.toMatch(/[\u0007\u001b\r]/);
    }
    expect((await keygate('keypairs', 'show', clientId)).stdout).toContain('bell\\u0007');
    expect((await keygate('keypairs', 'delete', clientId)).code).toBe(0);
  });

  it('gives scripts the secret with --json, once, and takes a calendar date as expiry', async () => {
    const day = new Date(Date.now() + 40 * 86_400_000).toISOString().slice(0, 10);
    const created = await keygate('keypairs', 'create', '--name', 'scripted', '--scopes', 'read', '--expires', day, '--json');
    expect(created.code).toBe(0);
    const keypair = JSON.parse(created.stdout) as { clientId: string; clientSecret: string; expiresAt: string; scopes: string[] };
    expect(keypair.clientSecret).toMatch(/^kgs_\w+$/);
    expect(keypair).toMatchObject({ scopes: ['read'], expiresAt: `${day}T00:00:00.000Z` });
    expect((await token(keypair.clientId, keypair.clientSecret)).status).toBe(200);

    const shown = await keygate('keypairs', 'show', keypair.clientId, '--json');
    expect(JSON.parse(shown.stdout)).not.toHaveProperty('clientSecret');
    expect(shown.stdout).not.toContain(keypair.clientSecret);
    expect((await keygate('keypairs', 'show', keypair.clientId)).stdout).toMatch(new RegExp(`expires\\s+${day}T00:00:00.000Z`));
    expect((await keygate('keypairs', 'delete', keypair.clientId, '--json')).code).toBe(0);
  });

  it('sets the guards and answers "is it used, from where, and what fails" with keypairs usage', async () => {
    const created = await keygate('keypairs', 'create', '--name', 'guarded', '--scopes', 'read', '--rate-limit', '120', '--allowed-ips', '127.0.0.1 10.0.0.0/8', '--auto-disable', 'true', '--json');
    expect(created.code).toBe(0);
    const { clientId, clientSecret } = JSON.parse(created.stdout) as { clientId: string; clientSecret: string };
    const shown = await keygate('keypairs', 'show', clientId);
    expect(shown.stdout).toMatch(/rate limit\s+120 per minute/);
    expect(shown.stdout).toMatch(/allowed IPs\s+127\.0\.0\.1 10\.0\.0\.0\/8/);
    expect(shown.stdout).toMatch(/auto-disable\s+on/);

    expect((await token(clientId, clientSecret)).status).toBe(200);
    expect((await token(clientId, clientSecret)).status).toBe(200);
    expect((await token(clientId, wrongSecret(clientSecret))).status).toBe(401);

    const usage = await keygate('keypairs', 'usage', clientId);
    expect(usage.code).toBe(0);
    expect(usage.stdout).toMatch(/last 24 h\s+2\s+1/);
    expect(usage.stdout).toMatch(/refusals \(7 d\)\s+secret_mismatch 1/);
    expect(usage.stdout).toMatch(/issued\s+127\.0\.0\.1/);
    expect(usage.stdout).toMatch(/refused\s+secret_mismatch\s+127\.0\.0\.1/);
    expect(usage.stdout).not.toContain(clientSecret);
    const json = JSON.parse((await keygate('keypairs', 'usage', clientId, '--json')).stdout) as { last7d: { issued: number; refused: number } };
    expect(json.last7d).toEqual({ issued: 2, refused: 1 });

    const updated = await keygate('keypairs', 'update', clientId, '--rate-limit', 'default', '--allowed-ips', '', '--auto-disable', 'default', '--json');
    expect(JSON.parse(updated.stdout)).toMatchObject({ rateLimitPerMinute: null, allowedIps: [], autoDisable: null });
    const bad = await keygate('keypairs', 'update', clientId, '--rate-limit', 'lots');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--rate-limit takes a number of requests per minute');
  });

  it('keeps a second process off the running server\'s embedded database', async () => {
    const cleanup = await runCli(['cleanup'], env, dir);
    expect(cleanup.code).toBe(1);
    expect(cleanup.stderr).toMatch(new RegExp(`^keygate: DATA_DIR: cannot open the embedded database in .*: it is in use by process ${server.child.pid} \\(a running keygate\\)`));
    expect((await keygate('keypairs', 'list', '--json')).code).toBe(0);
  });

  it('--grant gives a keypair scopes of another resource server; list and show print the grants', async () => {
    const payments = 'https://payments.cli.test';
    expect((await keygate('resource-servers', 'create', '--identifier', payments, '--name', 'Payments', '--scopes', 'read refund')).code).toBe(0);
    const created = await keygate('keypairs', 'create', '--name', 'payer', '--scopes', 'read', '--grant', `${payments}=read,refund`, '--json');
    expect(created.code).toBe(0);
    const keypair = JSON.parse(created.stdout) as { clientId: string; clientSecret: string; scopes: string[]; grants: Array<{ resourceServer: string; scopes: string[] }> };
    expect(keypair.scopes).toEqual(['read']);
    expect(keypair.grants).toContainEqual({ resourceServer: payments, scopes: ['read', 'refund'] });
    const issued = await fetch(`${server.url}/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${keypair.clientId}:${keypair.clientSecret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: `grant_type=client_credentials&resource=${encodeURIComponent(payments)}`,
    });
    expect(((await issued.json()) as { scope: string }).scope).toBe('read refund');

    expect((await keygate('keypairs', 'show', keypair.clientId)).stdout).toMatch(new RegExp(`grants\\s+\\S+=read ${payments}=read,refund\\n`));
    expect((await keygate('keypairs', 'list')).stdout).toMatch(new RegExp(`${keypair.clientId}\\s+payer\\s+enabled\\s+\\S+=read ${payments}=read,refund\\s+kgs_`));

    // On update --grant replaces every grant: here the default server's goes.
    const updated = await keygate('keypairs', 'update', keypair.clientId, '--grant', `${payments}=refund`);
    expect(updated.stdout).toMatch(new RegExp(`grants\\s+${payments}=refund\\n`));
    const bad = await keygate('keypairs', 'update', keypair.clientId, '--grant', payments);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--grant takes RESOURCE_SERVER=scope[,scope...]');
    const unknown = await keygate('keypairs', 'update', keypair.clientId, '--grant', `${payments}=refund,ghost`, '--grant', 'https://nowhere.cli.test=read');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain(`grants[0].scopes[1]: is not defined by ${payments}`);
    expect(unknown.stderr).toContain('grants[1].resourceServer: is not a resource server available to this account');
  });

  it('prints every bad field of a refused create and exits 2 (wrong usage)', async () => {
    const refused = await keygate('keypairs', 'create', '--name', 'x', '--scopes', 'read ghost', '--expires', '2w');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('keygate: The request has invalid fields.');
    expect(refused.stderr).toContain('expiresIn: must be 1d, 7d, 30d, 90d');
    expect(refused.stderr).toMatch(/scopes: not defined by the default resource server \(\S+\): ghost/);
  });

  it('refuses a --grace that is not a whole number before calling the server', async () => {
    const result = await keygate('keypairs', 'rotate', 'kp_whatever', '--grace', '1.5');
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe('keygate: --grace takes a whole number of seconds');
  });

  it('says when the server cannot be reached', async () => {
    const port = await freePort();
    const result = await runCli(['keypairs', 'list', '--url', `http://127.0.0.1:${port}`], env, dir);
    expect(result.code).toBe(5);
    expect(result.stderr.trim()).toBe(`keygate: cannot reach http://127.0.0.1:${port}: is the server running (npm start)? If it listens elsewhere, set KEYGATE_URL or pass --url`);
  });
});

describe('how the CLI finds the server and signs in', () => {
  it('refuses a server URL without a scheme', async () => {
    const result = await keygate('accounts', 'list', '--url', 'localhost:3000');
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe('keygate: the server URL must be http(s)://host[:port], not "localhost:3000" (--url or KEYGATE_URL)');
  });

  it('says so when something other than Keygate answers', async () => {
    const other = createServer((_request, response) => response.writeHead(404, { 'content-type': 'text/html' }).end('<h1>nope</h1>'));
    other.listen(0, '127.0.0.1');
    await once(other, 'listening');
    const url = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
    try {
      const result = await keygate('accounts', 'list', '--url', url);
      expect(result.code).toBe(1);
      expect(result.stderr.trim()).toBe(`keygate: ${url} answered 404 with something other than JSON: is it a Keygate server?`);
    } finally {
      other.close();
    }
  });

  it('never creates signing keys: without KEYS_FILE and a token it says what to do', async () => {
    const missing = path.join(dir, 'elsewhere', 'jwks.json');
    const result = await runCli(['keypairs', 'list'], { ...env, KEYGATE_URL: server.url, KEYS_FILE: missing }, dir);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`keygate: no signing keys at ${missing} to sign an operator token with`);
    expect(result.stderr).toContain('give --token or KEYGATE_TOKEN');
    await expect(access(missing)).rejects.toThrow();
  });

  it('explains a refused token it signed itself, and accepts one given with KEYGATE_TOKEN', async () => {
    const foreign = path.join(dir, 'foreign', 'jwks.json');
    // A key set the server has never seen.
    expect((await runCli(['keys', 'list'], { ...env, KEYS_FILE: foreign }, dir)).code).toBe(0);
    const refused = await runCli(['accounts', 'list'], { ...env, KEYGATE_URL: server.url, KEYS_FILE: foreign }, dir);
    expect(refused.code).toBe(6);
    expect(refused.stderr).toMatch(/^keygate: The token signature is not valid\.\n {2}\(the CLI signed an operator token for operator@localhost with the keys in .*foreign.jwks\.json/);

    const operatorToken = (await keygate('admin-token', '--operator')).stdout.trim();
    const accepted = await runCli(['accounts', 'list', '--json'], { ...env, KEYGATE_URL: server.url, KEYS_FILE: foreign, KEYGATE_TOKEN: operatorToken }, dir);
    expect(accepted.code).toBe(0);
    expect((JSON.parse(accepted.stdout) as { data: unknown[] }).data.length).toBeGreaterThan(0);
  });
});

describe('keygate accounts, environments, users, admins, resource-servers', () => {
  it('sets up a tenant and an environment admin who then manages keypairs alone', async () => {
    const account = JSON.parse((await keygate('accounts', 'create', '--name', 'Acme', '--json')).stdout) as { id: string };
    expect((await keygate('accounts', 'list')).stdout).toMatch(new RegExp(`${account.id}\\s+Acme\\s+active`));
    expect((await keygate('accounts', 'show', account.id)).stdout).toMatch(/name\s+Acme\n/);
    const environment = JSON.parse((await keygate('environments', 'create', '--account', account.id, '--name', 'production', '--json')).stdout) as { id: string };
    expect((await keygate('environments', 'list', '--account', account.id)).stdout).toMatch(new RegExp(`${environment.id}\\s+production\\s+active`));
    const user = JSON.parse((await keygate('users', 'create', '--email', 'dana@acme.test', '--name', 'Dana', '--json')).stdout) as { id: string };
    expect((await keygate('users', 'list')).stdout).toContain('dana@acme.test');
    expect((await keygate('admins', 'grant', '--user', user.id, '--environment', environment.id)).stdout.trim()).toBe(`granted admin for ${user.id} on ${environment.id}`);

    // Now two environments exist: the operator must say which.
    const ambiguous = await keygate('keypairs', 'list');
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.stderr).toContain('pick one with --environment');
    expect(ambiguous.stderr).toMatch(new RegExp(`\\n {2}env_\\w+\\s+development\\n {2}${environment.id}\\s+production|\\n {2}${environment.id}\\s+production\\n {2}env_\\w+\\s+development`));
    expect((await keygate('keypairs', 'list', '--environment', environment.id)).stdout.trim()).toBe('(none)');

    // Dana has one environment, so her commands need no flag.
    const danaToken = (await keygate('admin-token', '--email', 'dana@acme.test')).stdout.trim();
    const created = await runCli(['keypairs', 'create', '--name', 'acme-sync', '--scopes', 'read', '--token', danaToken], { ...env, KEYGATE_URL: server.url }, dir);
    expect(created.code).toBe(0);
    expect(created.stderr).toContain(`using environment production (${environment.id})`);

    const identifier = 'https://reports.acme.test/';
    const reports = await keygate('resource-servers', 'create', '--identifier', identifier, '--name', 'Reports', '--scopes', 'reports:read reports:export', '--ttl', '120', '--available-to', account.id);
    expect(reports.code).toBe(0);
    expect(reports.stdout).toMatch(/scopes\s+reports:read reports:export\n/);
    expect((await keygate('resource-servers', 'list')).stdout).toMatch(new RegExp(`https://reports\\.acme\\.test/\\s+Reports\\s+reports:read reports:export\\s+120\\s+${account.id}\\b`));

    // Ids that would climb out of their route (fetch resolves "..") are refused before any call.
    for (const args of [
      ['keypairs', 'delete', `kp_x/../../environments/${environment.id}`],
      ['keypairs', 'list', '--environment', `${environment.id}/../../accounts/${account.id}`],
      ['admins', 'revoke', '--user', '..', '--environment', environment.id],
      ['admins', 'revoke', '--user', '%2e%2e', '--environment', environment.id],
      ['environments', 'list', '--account', `${account.id}/..`],
    ]) {
      const refused = await keygate(...args);
      expect(refused.code, args.join(' ')).toBe(2);
      expect(refused.stderr, args.join(' ')).toMatch(/^keygate: .*(is not an id|not an id)/);
    }
    expect((await keygate('environments', 'list', '--account', account.id)).stdout).toMatch(new RegExp(`${environment.id}\\s+production\\s+active`));

    expect((await keygate('admins', 'revoke', '--user', user.id, '--environment', environment.id)).code).toBe(0);
    expect((await keygate('environments', 'close', environment.id)).stdout).toContain('closed environment');
    expect((await keygate('accounts', 'close', account.id)).stdout).toContain('closed account');
  });
});
