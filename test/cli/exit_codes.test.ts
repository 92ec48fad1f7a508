import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, runCli, startServerProcess, type CliResult, type ServerProcess } from '../support/cli.js';

/**
 * What a script sees when a command fails: one exit code per kind of failure, and with
 * --json one JSON line on stderr while stdout stays empty.
 */
let dir: string;
let server: ServerProcess;
let env: Record<string, string>;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'keygate-exit-codes-'));
  const port = await freePort();
  env = { PORT: String(port), ISSUER: `http://127.0.0.1:${port}`, DATA_DIR: path.join(dir, 'data'), KEYS_FILE: path.join(dir, 'jwks.json') };
  server = await startServerProcess(env, dir);
});

afterAll(async () => {
  await server?.stop();
});

const keygate = (...args: string[]) => runCli(args, { ...env, KEYGATE_URL: server.url }, dir);

/** The one JSON line a failed --json command writes to stderr. */
function jsonError(result: CliResult): Record<string, unknown> {
  expect(result.stdout).toBe('');
  expect(result.stderr.endsWith('\n')).toBe(true);
  expect(result.stderr.trim().split('\n')).toHaveLength(1);
  return (JSON.parse(result.stderr) as { error: Record<string, unknown> }).error;
}

describe('exit codes, and errors as JSON with --json', () => {
  it('2 for wrong usage, found by the CLI (no status) or by the server (400 with its fields)', async () => {
    const flag = await keygate('keypairs', 'list', '--limt', '5', '--json');
    expect(flag.code).toBe(2);
    expect(jsonError(flag)).toEqual({ status: null, code: 'usage', title: 'Wrong usage', detail: 'unknown flag --limt for keygate keypairs; did you mean --limit?' });

    const field = await keygate('keypairs', 'create', '--name', 'x', '--scopes', 'read', '--expires', '2w', '--json');
    expect(field.code).toBe(2);
    expect(jsonError(field)).toMatchObject({ status: 400, code: 'validation_failed', type: 'urn:keygate:problem:validation_failed', errors: [expect.objectContaining({ field: 'expiresIn' })] });
  });

  it('3 for not found, with the server\'s problem+json fields', async () => {
    const human = await keygate('keypairs', 'show', 'kp_missing');
    expect(human).toMatchObject({ code: 3, stdout: '', stderr: 'keygate: Keypair not found.\n' });
    const json = await keygate('keypairs', 'show', 'kp_missing', '--json');
    expect(json.code).toBe(3);
    expect(jsonError(json)).toEqual({ type: 'urn:keygate:problem:not_found', title: 'Not found', status: 404, detail: 'Keypair not found.', code: 'not_found' });
  });

  it('4 for a conflict', async () => {
    expect((await keygate('users', 'create', '--email', 'twice@exit.test')).code).toBe(0);
    const again = await keygate('users', 'create', '--email', 'twice@exit.test', '--json');
    expect(again.code).toBe(4);
    expect(jsonError(again)).toMatchObject({ status: 409, code: 'conflict' });
  });

  it('5 when no server answers', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const result = await runCli(['accounts', 'list', '--url', url, '--json'], env, dir);
    expect(result.code).toBe(5);
    expect(jsonError(result)).toEqual({ status: null, code: 'unreachable', title: 'Server unreachable', detail: `cannot reach ${url}: is the server running (npm start)? If it listens elsewhere, set KEYGATE_URL or pass --url` });
  });

  it('6 when the token is refused (401) or not allowed (403)', async () => {
    const invalid = await keygate('accounts', 'list', '--token', 'not-a-jwt', '--json');
    expect(invalid.code).toBe(6);
    expect(jsonError(invalid)).toMatchObject({ status: 401, code: 'unauthenticated' });

    expect((await keygate('users', 'create', '--email', 'plain@exit.test')).code).toBe(0);
    const plainToken = (await keygate('admin-token', '--email', 'plain@exit.test')).stdout.trim();
    const forbidden = await keygate('users', 'list', '--token', plainToken);
    expect(forbidden.code).toBe(6);
    expect(forbidden.stderr).toMatch(/^keygate: .+\n$/);
  });

  it('1 for anything else; keygate --help lists the codes', async () => {
    const noKeys = await runCli(['accounts', 'list', '--json'], { ...env, KEYGATE_URL: server.url, KEYS_FILE: path.join(dir, 'none.json') }, dir);
    expect(noKeys.code).toBe(1);
    expect(jsonError(noKeys)).toMatchObject({ status: null, code: 'failed' });

    const help = await runCli(['--help'], {}, dir);
    expect(help.stdout).toContain('Exit codes: 0 ok, 1 any other failure, 2 wrong usage (a bad flag, argument or field), 3 not found,\n  4 conflict or precondition (409, 412, 422), 5 server unreachable (or 503), 6 refused (401, 403).');
  });
});
