import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../src/shared/ids.js';
import { createUser, type TestUser } from '../support/admin.js';
import { runCli } from '../support/cli.js';
import { createTenant, listen, startTestKeygate, type TestKeygate } from '../support/keygate.js';

/**
 * `keygate trusted-issuers` as an operator types it, run as its own process against a
 * Keygate served on loopback: what it prints, and what the server then holds.
 */
let kg: TestKeygate;
let served: Awaited<ReturnType<typeof listen>>;
let dir: string;
let operator: TestUser;
let environmentAdmin: TestUser;

beforeAll(async () => {
  kg = await startTestKeygate();
  served = await listen(kg.keygate);
  dir = await mkdtemp(path.join(tmpdir(), 'keygate-trusted-issuers-cli-'));
  operator = await createUser(kg.keygate, { operator: true });
  environmentAdmin = await createUser(kg.keygate, { environments: [await createTenant(kg.keygate)] });
});
afterAll(async () => {
  await served?.close();
  await kg?.close();
});

const keygate = (user: TestUser, ...args: string[]) => runCli(['trusted-issuers', ...args], { KEYGATE_URL: served.url, KEYGATE_TOKEN: user.token, DATA_DIR: path.join(dir, 'data') }, dir);
const unique = () => newId('trustedIssuer').slice(3, 13).toLowerCase();

describe('keygate trusted-issuers', () => {
  it('creates one from a cluster JWK Set file, lists, changes, shows and deletes it', async () => {
    const { publicKey } = await generateKeyPair('RS256', { extractable: true });
    const jwksFile = path.join(dir, 'cluster-jwks.json');
    await writeFile(jwksFile, JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'cluster-key', use: 'sig', alg: 'RS256' }] }));
    const issuer = `https://kubernetes.default.svc/${unique()}`;

    const created = await keygate(operator, 'create', '--issuer', issuer, '--name', 'Prod cluster', '--jwks-file', jwksFile);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toMatch(/keys\s+inline \(cluster-key\)\n/);
    expect(created.stdout).toMatch(/audience\s+\(Keygate's ISSUER\)\n/);
    const id = /^id\s+(ti_\w+)$/m.exec(created.stdout)![1]!;

    expect((await keygate(operator, 'list')).stdout).toMatch(new RegExp(`${id}\\s+${issuer.replace(/[./]/g, '\\$&')}\\s+Prod cluster\\s+inline \\(cluster-key\\)\\s+\\(Keygate's ISSUER\\)\\s+0\\n`));

    const updated = await keygate(operator, 'update', id, '--jwks-uri', `${issuer}/openid/v1/jwks`, '--audience', 'https://keygate.example.test');
    expect(updated.code, updated.stderr).toBe(0);
    expect(updated.stdout).toMatch(new RegExp(`keys\\s+${issuer.replace(/[./]/g, '\\$&')}/openid/v1/jwks\\n`));
    expect(updated.stdout).toMatch(/version\s+2\n/);
    const discovery = await keygate(operator, 'update', id, '--discovery', '--audience', 'default', '--json');
    expect(JSON.parse(discovery.stdout)).toMatchObject({ id, jwksUri: null, jwks: null, audience: null, version: 3 });

    expect(JSON.parse((await keygate(operator, 'show', id, '--json')).stdout)).toMatchObject({ id, issuer, name: 'Prod cluster' });
    expect((await keygate(operator, 'delete', id)).stdout).toBe(`deleted trusted issuer ${id}\n`);
    expect((await keygate(operator, 'show', id)).code).toBe(3);
  });

  it('says what the server refused, with the exit code of the refusal', async () => {
    const plain = await keygate(operator, 'create', '--issuer', 'http://github.example.test', '--name', 'Plain');
    expect(plain.code).toBe(2);
    expect(plain.stderr).toContain('issuer: must be an https URL');

    const issuer = `https://token.actions.githubusercontent.com/${unique()}`;
    const created = JSON.parse((await keygate(operator, 'create', '--issuer', issuer, '--name', 'GitHub Actions', '--json')).stdout) as { id: string };
    expect((await keygate(operator, 'create', '--issuer', issuer, '--name', 'Again')).code).toBe(4);
    const refused = await keygate(environmentAdmin, 'delete', created.id);
    expect(refused.code).toBe(6);
    expect(refused.stderr).toContain('You may not delete trusted issuers.');
    expect((await keygate(operator, 'update', created.id)).code).toBe(2);
  });
});
