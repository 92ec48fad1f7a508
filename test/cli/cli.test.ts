import { access, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'keygate-cli-'));
});

describe('start-up refuses bad configuration with one line and exit code 1', () => {
  it.each([
    [{ PORT: 'abc' }, 'keygate: PORT: expected a whole number, got "abc"'],
    [{ PORT: '70000' }, 'keygate: PORT: expected 0 to 65535, got 70000'],
    [{ TOKEN_SIGNING_ALG: 'HS256' }, 'keygate: TOKEN_SIGNING_ALG: expected one of ES256, RS256, PS256, EdDSA, got "HS256"'],
    [{ LOG_LEVEL: 'loud' }, 'keygate: LOG_LEVEL: expected one of debug, info, warn, error, silent, got "loud"'],
    [{ ISSUER: 'ftp://x' }, 'keygate: ISSUER: expected an http(s) URL, got "ftp://x"'],
    [{ DATABASE_URL: 'mysql://x' }, 'keygate: DATABASE_URL: expected a postgres:// URL, got "mysql:"'],
    [{ WORKERS: '2' }, 'keygate: WORKERS: several workers need DATABASE_URL: the embedded database belongs to one process'],
  ])('%o', async (env, line) => {
    const result = await runCli(['serve'], { KEYS_FILE: path.join(dir, 'jwks.json'), ...env }, dir);
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n').filter((text) => !text.startsWith('oidc-provider WARNING'))).toEqual([line]);
  });

  it('an unreachable DATABASE_URL', async () => {
    const result = await runCli(['serve'], { KEYS_FILE: path.join(dir, 'jwks.json'), DATABASE_URL: 'postgres://keygate@127.0.0.1:1/keygate' }, dir);
    expect(result.code).toBe(1);
    const lines = result.stderr.trim().split('\n').filter((text) => !text.startsWith('oidc-provider WARNING'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^keygate: DATABASE_URL: cannot connect: .*ECONNREFUSED/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('keygate keys and admin-token', () => {
  it('rotate adds a key, list shows both, admin-token signs with the newest', async () => {
    const env = { KEYS_FILE: path.join(dir, 'rotation.json'), ISSUER: 'http://keygate.test' };
    const delayed = await runCli(['keys', 'rotate'], env, dir);
    expect(delayed.stdout).toMatch(/^added ES256 key \S+; published after the server restarts or gets SIGHUP, signing from \S+Z\./);
    const rotated = await runCli(['keys', 'rotate', '--activate-in', '0'], env, dir);
    expect(rotated.code).toBe(0);
    expect(rotated.stdout).toMatch(/^added ES256 key (\S+);/);
    const newKid = /added ES256 key (\S+);/.exec(rotated.stdout)![1];

    const listed = await runCli(['keys', 'list'], env, dir);
    expect(listed.stdout.trim().split('\n')).toHaveLength(3);
    expect(listed.stdout.split('\n')[0]).toContain(newKid);

    const minted = await runCli(['admin-token', '--email', 'Alice@Example.com'], env, dir);
    expect(minted.code).toBe(0);
    const token = minted.stdout.trim();
    expect(decodeProtectedHeader(token)).toMatchObject({ kid: newKid, typ: 'keygate-admin+jwt' });
    const stored = JSON.parse(await readFile(env.KEYS_FILE, 'utf8')) as { keys: Array<Record<string, unknown>> };
    const publicKeys = stored.keys.map(({ d: _d, created_at: _c, signs_from: _s, ...jwk }) => jwk);
    const { payload } = await jwtVerify(token, createLocalJWKSet({ keys: publicKeys }), { issuer: 'http://keygate.test', audience: 'http://keygate.test/admin' });
    expect(payload).toMatchObject({ sub: 'alice@example.com', email: 'alice@example.com' });
    expect(payload.exp! - payload.iat!).toBe(900);

    const retired = await runCli(['keys', 'retire'], env, dir);
    expect(retired.stdout.trim()).toBe('no key is old enough to retire');
  });

  it('admin-token and console-link never create signing keys: without KEYS_FILE they say what to do', async () => {
    const missing = path.join(dir, 'not-the-servers', 'jwks.json');
    for (const args of [['admin-token', '--operator'], ['console-link', '--operator']]) {
      const result = await runCli(args, { KEYS_FILE: missing }, dir);
      expect(result.code, args.join(' ')).toBe(1);
      expect(result.stderr).toContain(`keygate: no signing keys at ${missing} to sign`);
      expect(result.stdout).toBe('');
    }
    await expect(access(missing)).rejects.toThrow();
  });

  it('admin-token --operator mints a token for OPERATOR_EMAIL', async () => {
    const env = { KEYS_FILE: path.join(dir, 'operator.json'), OPERATOR_EMAIL: 'ops@example.com' };
    // The server's keys, as its first start (or `keys list`) writes them.
    expect((await runCli(['keys', 'list'], env, dir)).code).toBe(0);
    const minted = await runCli(['admin-token', '--operator', '--ttl', '60'], env, dir);
    expect(minted.code).toBe(0);
    const payload = JSON.parse(Buffer.from(minted.stdout.trim().split('.')[1]!, 'base64url').toString()) as Record<string, number | string>;
    expect(payload).toMatchObject({ email: 'ops@example.com', aud: 'http://localhost:3000/admin' });
    expect(Number(payload.exp) - Number(payload.iat)).toBe(60);
  });

  it('admin-token refuses a --ttl the server would refuse (ADMIN_TOKEN_MAX_LIFETIME)', async () => {
    const env = { KEYS_FILE: path.join(dir, 'operator.json'), ADMIN_TOKEN_MAX_LIFETIME: '600' };
    const tooLong = await runCli(['admin-token', '--operator', '--ttl', '601'], env, dir);
    expect(tooLong.code).toBe(2);
    expect(tooLong.stderr).toContain('keygate: --ttl must be 1 to 600 seconds');
    const longest = await runCli(['admin-token', '--operator'], env, dir);
    expect(longest.code).toBe(0);
    const payload = JSON.parse(Buffer.from(longest.stdout.trim().split('.')[1]!, 'base64url').toString()) as Record<string, number>;
    expect(payload.exp! - payload.iat!).toBe(600);
  });

  it('refuses wrong usage with a message and exit code 2', async () => {
    const both = await runCli(['admin-token', '--operator', '--email', 'a@b.c'], { KEYS_FILE: path.join(dir, 'x.json') }, dir);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('keygate: admin-token takes --operator or --email E');
    const unknown = await runCli(['frobnicate'], {}, dir);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('keygate: unknown command "frobnicate"');
  });
});

describe('help, version and unknown flags', () => {
  it('a bare keygate prints the help and exits 0 without starting a server', async () => {
    const bare = await runCli([], { DATA_DIR: path.join(dir, 'bare-data'), KEYS_FILE: path.join(dir, 'bare.json') }, dir);
    expect(bare.code).toBe(0);
    expect(bare.stdout).toContain('keygate serve ');
    expect(bare.stdout).not.toContain('Keygate listening');
  });

  it('--version prints the package version', async () => {
    const { version } = JSON.parse(await readFile(path.resolve(import.meta.dirname, '../../package.json'), 'utf8')) as { version: string };
    const result = await runCli(['--version'], {}, dir);
    expect(result).toMatchObject({ code: 0, stdout: `${version}\n` });
  });

  it.each([[['help', 'keys']], [['keys', '--help']]])('%o prints that command only, with its flags', async (args) => {
    const result = await runCli(args, {}, dir);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('keygate keys rotate [--activate-in S]');
    expect(result.stdout).toContain('published once the server restarts or gets\n');
    expect(result.stdout).toContain('Flags: --max-token-ttl, --activate-in, --help (-h), --version');
    expect(result.stdout).not.toContain('keygate keypairs');
  });

  it('an unknown flag is one line naming it and the nearest flag of that command', async () => {
    const result = await runCli(['keys', 'rotate', '--activate', '5'], {}, dir);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe('keygate: unknown flag --activate for keygate keys; did you mean --activate-in?\n');
    const other = await runCli(['keypairs', 'list', '--limt', '5'], {}, dir);
    expect(other.stderr).toBe('keygate: unknown flag --limt for keygate keypairs; did you mean --limit?\n');
  });
});

describe('keygate migrate', () => {
  it('applies the migrations to the embedded database, and rolls them back with --down', async () => {
    const env = { DATA_DIR: path.join(dir, 'migrate-data'), KEYS_FILE: path.join(dir, 'migrate.json') };
    const up = await runCli(['migrate'], env, dir);
    expect(up.code).toBe(0);
    expect(up.stdout.trim()).toBe('applied: 001_initial, 002_status_list, 003_usage_guards_outbox, 004_console, 005_grants, 006_identities, 007_console_secret_views, 008_keyless_credentials, 009_used_jti_digests');
    const again = await runCli(['migrate'], env, dir);
    expect(again.stdout.trim()).toBe('nothing to do');
    const down = await runCli(['migrate', '--down'], env, dir);
    expect(down.code).toBe(0);
    expect(down.stdout.trim()).toBe('rolled back: 009_used_jti_digests, 008_keyless_credentials, 007_console_secret_views, 006_identities, 005_grants, 004_console, 003_usage_guards_outbox, 002_status_list, 001_initial');
  });
});
