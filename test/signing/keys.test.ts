import { stat, readFile } from 'node:fs/promises';
import path from 'node:path';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, SIGNING_ALGS } from '../../src/config/config.js';
import { generateSigningKey, loadKeySet, retireKeys, rotateKeys } from '../../src/signing/keystore.js';
import { createKeypair, createTenant, listen, requestToken, startTestKeygate, TEST_ISSUER, type Tenant, type TestKeygate } from '../support/keygate.js';

describe('signing keys on disk', () => {
  it('are generated on first load with file mode 0600, and loaded unchanged after', async () => {
    const kg = await startTestKeygate();
    try {
      const file = path.join(kg.dir, 'jwks.json');
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      const stored = JSON.parse(await readFile(file, 'utf8')) as { keys: Array<{ kid: string; d: string; alg: string }> };
      expect(stored.keys).toHaveLength(1);
      expect(stored.keys[0]).toMatchObject({ alg: 'ES256', use: 'sig', kty: 'EC', d: expect.any(String) });
      const again = await loadKeySet(kg.keygate.config);
      expect(again.keys.map((key) => key.kid)).toEqual([stored.keys[0]!.kid]);
    } finally {
      await kg.close();
    }
  });

  it('come from KEYS_JWKS when set, and then no file is written', async () => {
    const key = await generateSigningKey('ES256', 1);
    const kg = await startTestKeygate({ KEYS_JWKS: JSON.stringify({ keys: [key] }) });
    try {
      await expect(stat(path.join(kg.dir, 'jwks.json'))).rejects.toMatchObject({ code: 'ENOENT' });
      const jwks = (await kg.http.get('/jwks')).body as { keys: Array<{ kid: string }> };
      expect(jwks.keys.map((published) => published.kid)).toEqual([key.kid]);
    } finally {
      await kg.close();
    }
  });

  it('refuse a KEYS_JWKS that is not a private signing key set', async () => {
    await expect(loadKeySet(loadConfig({ KEYS_JWKS: '{"keys": []}' }))).rejects.toThrow('KEYS_JWKS: expected a JWKS with at least one key');
    await expect(loadKeySet(loadConfig({ KEYS_JWKS: 'nope' }))).rejects.toThrow('KEYS_JWKS: not valid JSON');
    const { d: _d, ...publicOnly } = await generateSigningKey('ES256', 1);
    await expect(loadKeySet(loadConfig({ KEYS_JWKS: JSON.stringify({ keys: [publicOnly] }) }))).rejects.toThrow('is not a private key');
  });
});

describe('signing key rotation', () => {
  let kg: TestKeygate;
  let tenant: Tenant;
  let server: Awaited<ReturnType<typeof listen>>;

  beforeAll(async () => {
    kg = await startTestKeygate();
    tenant = await createTenant(kg.keygate);
    server = await listen(kg.keygate);
  });
  afterAll(async () => {
    await server.close();
    await kg.close();
  });

  it('publishes a rotated key at once, signs with it after its activation delay, and old tokens still verify', async () => {
    const { keypair, clientSecret } = await createKeypair(kg.keygate, { owner: { environmentId: tenant.environmentId } });
    const client = { clientId: keypair.clientId, clientSecret };
    const audience = kg.keygate.catalog.defaultServer!.identifier;
    const before = (await requestToken(kg.http, client)).body.access_token as string;
    const oldKid = decodeProtectedHeader(before).kid;

    const added = await rotateKeys(kg.keygate.config, 60, Math.floor(kg.clock.now().getTime() / 1000));
    await kg.keygate.reloadKeys();
    const jwks = (await kg.http.get('/jwks')).body as { keys: Array<{ kid: string }> };
    expect(jwks.keys.map((key) => key.kid).sort()).toEqual([oldKid, added.kid].sort());

    // Published, not yet signing: resource servers get a minute to fetch it.
    const during = (await requestToken(kg.http, client)).body.access_token as string;
    expect(decodeProtectedHeader(during).kid).toBe(oldKid);
    kg.clock.advance(61);
    const after = (await requestToken(kg.http, client)).body.access_token as string;
    expect(decodeProtectedHeader(after).kid).toBe(added.kid);
    expect(added.kid).not.toBe(oldKid);

    const remote = createRemoteJWKSet(new URL(`${server.url}/jwks`));
    for (const token of [before, during, after]) {
      const { payload } = await jwtVerify(token, remote, { issuer: TEST_ISSUER, audience, typ: 'at+jwt' });
      expect(payload.client_id).toBe(keypair.clientId);
    }
  });

  it('retires a key only once every token it signed has expired', async () => {
    const config = kg.keygate.config;
    const keys = await loadKeySet(config);
    const newest = keys.keys.reduce((a, b) => ((a.signs_from ?? a.created_at) > (b.signs_from ?? b.created_at) ? a : b));
    const activation = newest.signs_from ?? newest.created_at;
    // The old key stopped signing when the new one activated; tokens live 300 s.
    expect(await retireKeys(config, 300, activation + 300)).toEqual([]);
    const retired = await retireKeys(config, 300, activation + 301);
    expect(retired.length).toBe(keys.keys.length - 1);
    const left = await loadKeySet(config);
    expect(left.keys.map((key) => key.kid)).toEqual([newest.kid]);
  });
});

describe('signing algorithms', () => {
  it.each(SIGNING_ALGS)('issues %s tokens that verify against /jwks', async (alg) => {
    const kg = await startTestKeygate({ TOKEN_SIGNING_ALG: alg });
    const server = await listen(kg.keygate);
    try {
      const tenant = await createTenant(kg.keygate);
      const { keypair, clientSecret } = await createKeypair(kg.keygate, { owner: { environmentId: tenant.environmentId } });
      const token = (await requestToken(kg.http, { clientId: keypair.clientId, clientSecret })).body.access_token as string;
      const { protectedHeader } = await jwtVerify(token, createRemoteJWKSet(new URL(`${server.url}/jwks`)), {
        issuer: TEST_ISSUER,
        audience: kg.keygate.catalog.defaultServer!.identifier,
        typ: 'at+jwt',
        algorithms: [alg],
      });
      expect(protectedHeader.alg).toBe(alg);
      const discovery = (await kg.http.get('/.well-known/oauth-authorization-server')).body as Record<string, unknown>;
      expect(discovery.access_token_signing_alg_values_supported).toEqual([alg]);
    } finally {
      await server.close();
      await kg.close();
    }
  });
});
