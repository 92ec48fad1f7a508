import { execFile } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, runCli, startServerProcess, type ServerProcess } from '../support/cli.js';

/**
 * The README's quick start as a new user walks it: start the server on a fresh
 * embedded database, create a keypair with the CLI and no flags, fetch a token with
 * the printed curl's credentials, disable the keypair, watch the next request fail.
 */
let dir: string;
let server: ServerProcess;
let env: Record<string, string>;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'keygate-quick-start-'));
  const port = await freePort();
  // As a user would have it: only the port differs from the defaults, so ISSUER is localhost.
  env = { PORT: String(port), DATA_DIR: path.join(dir, 'data'), KEYS_FILE: path.join(dir, 'keys', 'jwks.json') };
  server = await startServerProcess(env, dir);
});

afterAll(async () => {
  await server?.stop();
});

describe('the README quick start', () => {
  it('start, create a keypair, fetch a token, disable, get invalid_client', async () => {
    const issuer = `http://localhost:${env.PORT}`;
    expect(server.output()).toContain('First start: created');

    const created = await runCli(['keypairs', 'create', '--name', 'demo', '--scopes', 'read'], env, dir);
    expect(created.code).toBe(0);
    // No flag: the one environment of a fresh install, named on stderr so stdout stays the result.
    expect(created.stderr.trim()).toMatch(/^using environment development \(env_\w+\)$/);
    const clientId = /client_id\s+(kp_\w+)/.exec(created.stdout)![1]!;
    const secret = /client_secret\s+(kgs_\w+)/.exec(created.stdout)![1]!;
    expect(created.stdout).toContain('This secret is shown once and cannot be shown again');
    // The printed curl is the one the README shows, against the server the CLI found by ISSUER alone.
    expect(created.stdout).toContain(`curl -s -u "${clientId}:${secret}" -d grant_type=client_credentials ${issuer}/token`);

    const basic = `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`;
    const fetchToken = () =>
      fetch(`${issuer}/token`, { method: 'POST', headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials&scope=read' });
    const response = await fetchToken();
    expect(response.status).toBe(200);
    const body = (await response.json()) as { access_token: string; token_type: string; expires_in: number; scope: string };
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 300, scope: 'read' });
    const { payload } = await jwtVerify(body.access_token, createRemoteJWKSet(new URL(`${issuer}/jwks`)), { issuer, audience: `${issuer}/api`, typ: 'at+jwt' });
    expect(payload.client_id).toBe(clientId);

    expect((await runCli(['keypairs', 'disable', clientId], env, dir)).code).toBe(0);
    const refused = await fetchToken();
    expect(refused.status).toBe(401);
    expect(await refused.json()).toEqual({ error: 'invalid_client', error_description: 'client authentication failed' });
  });

  it("the README's shell lines set CLIENT_ID and CLIENT_SECRET from --json, and they fetch a token", async () => {
    const issuer = `http://localhost:${env.PORT}`;
    const readme = await readFile(path.resolve(import.meta.dirname, '../../README.md'), 'utf8');
    const created = /^CREATED=\$\(npx keygate (.+)\)$/m.exec(readme)![1]!.split(' ');
    const extract = (variable: string) => new RegExp(`^${variable}=\\$\\(node -pe '([^']+)' "\\$CREATED"\\)$`, 'm').exec(readme)![1]!;
    const result = await runCli(created, env, dir);
    expect(result.code).toBe(0);
    const node = (expression: string) =>
      new Promise<string>((resolve, reject) => execFile(process.execPath, ['-pe', expression, result.stdout], (error, stdout) => (error ? reject(error) : resolve(stdout.trim()))));
    const clientId = await node(extract('CLIENT_ID'));
    const clientSecret = await node(extract('CLIENT_SECRET'));
    expect(clientId).toMatch(/^kp_\w+$/);
    const response = await fetch(`${issuer}/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials&scope=read',
    });
    expect(response.status).toBe(200);
  });

  it('create without --scopes or --grant refuses, naming the default resource server and its scopes', async () => {
    const result = await runCli(['keypairs', 'create', '--name', 'no-scopes'], env, dir);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`keygate: keypairs create needs --scopes "..." or --grant URI=scope,...: without them its token requests fail with invalid_target; the default resource server http://localhost:${env.PORT}/api has: read write`);
    const listed = await runCli(['keypairs', 'list', '--json'], env, dir);
    expect(listed.stdout).not.toContain('no-scopes');
  });
});
