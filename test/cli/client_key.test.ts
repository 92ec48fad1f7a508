import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { calculateJwkThumbprint, importPKCS8, SignJWT, importJWK, jwtVerify, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, runCli, startServerProcess, type ServerProcess } from '../support/cli.js';

/**
 * `keygate client-key new` makes a key pair locally; `keygate keypairs create
 * --public-key` sends its public part to a real `keygate serve` (embedded database).
 */
let dir: string;
let server: ServerProcess;
let env: Record<string, string>;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'keygate-client-key-'));
  const port = await freePort();
  env = { PORT: String(port), ISSUER: `http://127.0.0.1:${port}`, DATA_DIR: path.join(dir, 'data'), KEYS_FILE: path.join(dir, 'jwks.json') };
  server = await startServerProcess(env, dir);
});

afterAll(async () => {
  await server?.stop();
});

const keygate = (...args: string[]) => runCli(args, { ...env, KEYGATE_URL: server.url }, dir);

describe('keygate client-key new', () => {
  it('writes a 0600 private key, prints the public JWK (kid = thumbprint, no d), and never overwrites', async () => {
    const out = path.join(dir, 'client.pem');
    const made = await keygate('client-key', 'new', '--out', out, '--alg', 'EdDSA');
    expect(made.code).toBe(0);
    expect((await stat(out)).mode & 0o777).toBe(0o600);
    const pem = await readFile(out, 'utf8');
    expect(pem).toContain('-----BEGIN PRIVATE KEY-----');
    const jwk = JSON.parse(made.stdout) as JWK;
    expect(jwk).not.toHaveProperty('d');
    expect(jwk).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', kid: await calculateJwkThumbprint(jwk, 'sha256') });

    // The two halves belong together: what the private key signs, the printed public key verifies.
    const signed = await new SignJWT({}).setProtectedHeader({ alg: 'EdDSA' }).sign(await importPKCS8(pem, 'EdDSA'));
    await expect(jwtVerify(signed, await importJWK(jwk, 'EdDSA'))).resolves.toBeDefined();

    const again = await keygate('client-key', 'new', '--out', out);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('exists');
    expect(await readFile(out, 'utf8')).toBe(pem);
  });

  it('refuses an unknown --alg and a missing --out', async () => {
    expect((await keygate('client-key', 'new', '--out', path.join(dir, 'x.pem'), '--alg', 'HS256')).stderr).toContain('--alg takes ES256, RS256, EdDSA');
    expect((await keygate('client-key', 'new')).code).toBe(2);
  });

  it('leaves nothing half made: the same file for both halves, or a --public-out it cannot write, writes no private key', async () => {
    const out = path.join(dir, 'half.pem');
    for (const publicOut of [out, path.join(dir, 'no-such-dir', 'public.json')]) {
      const refused = await keygate('client-key', 'new', '--out', out, '--public-out', publicOut);
      expect(refused.code, refused.stderr).toBe(2);
      expect(refused.stderr).toContain('--public-out');
      await expect(stat(out)).rejects.toThrow();
    }
    // So a second try with a good --public-out goes through.
    expect((await keygate('client-key', 'new', '--out', out, '--public-out', path.join(dir, 'half.json'))).code).toBe(0);
  });
});

describe('keygate keypairs create --public-key', () => {
  it('makes a public_key keypair from the --public-out file whose thumbprint matches the key', async () => {
    const publicOut = path.join(dir, 'client.pub.json');
    const made = await keygate('client-key', 'new', '--out', path.join(dir, 'es256.pem'), '--public-out', publicOut);
    expect(made.code).toBe(0);
    const jwk = JSON.parse(await readFile(publicOut, 'utf8')) as JWK;
    expect(JSON.parse(made.stdout)).toEqual(jwk);

    const created = await keygate('keypairs', 'create', '--name', 'signed-client', '--scopes', 'read', '--public-key', publicOut, '--json');
    expect(created.code).toBe(0);
    const keypair = JSON.parse(created.stdout) as { clientId: string; credentialType: string; clientSecret?: string; publicKeys: Array<{ thumbprint: string; jwk: JWK }> };
    expect(keypair).not.toHaveProperty('clientSecret');
    expect(keypair.credentialType).toBe('public_key');
    expect(keypair.publicKeys.map((key) => key.thumbprint)).toEqual([jwk.kid]);

    const shown = await keygate('keypairs', 'show', keypair.clientId);
    expect(shown.stdout).toMatch(/credential\s+public key \(private_key_jwt\), 1 key/);
    expect(shown.stdout).toContain(jwk.kid);
    expect((await keygate('keypairs', 'list')).stdout).toMatch(new RegExp(`${keypair.clientId}\\s+signed-client\\s.*\\spublic_key\\n`));
  });

  it('reads a PEM public key, and refuses a private key file before sending anything', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pemFile = path.join(dir, 'spki.pem');
    await writeFile(pemFile, publicKey.export({ type: 'spki', format: 'pem' }));
    const created = await keygate('keypairs', 'create', '--name', 'pem-client', '--scopes', 'read', '--public-key', pemFile, '--require-dpop');
    expect(created.code).toBe(0);
    expect(created.stdout).toContain('Created keypair pem-client (no secret');
    expect(created.stdout).toContain(await calculateJwkThumbprint(publicKey.export({ format: 'jwk' }) as JWK, 'sha256'));
    expect(created.stdout).toMatch(/DPoP\s+required/);

    const privateFile = path.join(dir, 'private.pem');
    await writeFile(privateFile, privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const refused = await keygate('keypairs', 'create', '--name', 'leaky', '--scopes', 'read', '--public-key', privateFile);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('holds a private key');
    // A private JWK nested in some other object is caught here too, not first by the server.
    const nestedFile = path.join(dir, 'nested.json');
    await writeFile(nestedFile, JSON.stringify({ jwk: privateKey.export({ format: 'jwk' }) }));
    const nested = await keygate('keypairs', 'create', '--name', 'leaky', '--scopes', 'read', '--public-key', nestedFile);
    expect(nested.code).toBe(2);
    expect(nested.stderr).toContain('holds a private key');
    expect((await keygate('keypairs', 'list')).stdout).not.toContain('leaky');
  });
});

describe('keygate keypairs create --federation-issuer', () => {
  it('sends issuer, subject and claims: an issuer no operator trusts is the server\'s 400 naming federation.issuer', async () => {
    const refused = await keygate('keypairs', 'create', '--name', 'ci', '--scopes', 'read', '--federation-issuer', 'https://token.actions.githubusercontent.com', '--subject', 'repo:acme/api:ref:refs/heads/main', '--claim', 'repository=acme/api');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('federation.issuer: is not a trusted issuer');
  });

  it('refuses a --claim without NAME=VALUE and --public-key with --subject, before calling the server', async () => {
    const claim = await keygate('keypairs', 'create', '--name', 'ci', '--scopes', 'read', '--federation-issuer', 'https://issuer.test', '--subject', 's', '--claim', 'repository');
    expect(claim.code).toBe(2);
    expect(claim.stderr).toContain('--claim takes NAME=VALUE');
    const both = await keygate('keypairs', 'create', '--name', 'ci', '--scopes', 'read', '--public-key', 'x.json', '--subject', 's');
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('not both');
  });
});
