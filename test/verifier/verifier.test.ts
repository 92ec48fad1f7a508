import { decodeProtectedHeader, generateKeyPair, importJWK, SignJWT, base64url, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rotateKeys } from '../../src/signing/keystore.js';
import { createVerifier, type VerifierErrorCode } from '../../src/verifier/index.js';
import { createKeypair, createTenant, requestToken, startServedKeygate, type ServedKeygate } from '../support/keygate.js';

let kg: ServedKeygate;
let issuer: string;
let audience: string;
let jwksFetches = 0;
let credentials: { clientId: string; clientSecret: string };
let tenant: Awaited<ReturnType<typeof createTenant>>;

/** Keygate on a loopback port whose ISSUER is that port, counting JWKS fetches. */
beforeAll(async () => {
  kg = await startServedKeygate({}, (req) => {
    if (req.url === '/jwks') jwksFetches += 1;
    return false;
  });
  issuer = kg.issuer;
  tenant = await createTenant(kg.keygate);
  audience = kg.keygate.catalog.defaultServer!.identifier;
  const created = await createKeypair(kg.keygate, { owner: { environmentId: tenant.environmentId }, scopes: ['read'] });
  credentials = { clientId: created.keypair.clientId, clientSecret: created.clientSecret };
});

afterAll(() => kg.close());

async function issuedToken(): Promise<string> {
  const response = await requestToken(kg.http, credentials);
  expect(response.status).toBe(200);
  return response.body.access_token;
}

/** Signs `payload` with Keygate's own current key: a token only the claims make wrong. */
async function signWithKeygateKey(payload: JWTPayload, header: Record<string, unknown> = {}): Promise<string> {
  const key = kg.keygate.keySet().keys[0]!;
  const { created_at: _c, signs_from: _s, ...jwk } = key;
  return new SignJWT(payload).setProtectedHeader({ alg: 'ES256', kid: key.kid, typ: 'at+jwt', ...header }).sign(await importJWK(jwk, 'ES256'));
}

function claims(overrides: JWTPayload = {}): JWTPayload {
  const now = Math.floor(Date.now() / 1000);
  return { iss: issuer, aud: audience, sub: credentials.clientId, client_id: credentials.clientId, scope: 'read', iat: now, exp: now + 300, jti: 'test', ...overrides };
}

async function expectRefused(promise: Promise<unknown>, code: VerifierErrorCode) {
  await expect(promise).rejects.toMatchObject({ name: 'VerifierError', code });
}

describe('createVerifier', () => {
  it('accepts a Keygate token and returns its typed claims (JWKS found through discovery)', async () => {
    const verifier = createVerifier({ issuer, audience });
    const token = await issuedToken();
    const verified = await verifier.verify(token, { scopes: ['read'] });
    expect(verified).toMatchObject({ clientId: credentials.clientId, scopes: ['read'], accountId: tenant.accountId, environmentId: tenant.environmentId });
    expect(verified.expiresAt.getTime()).toBe((verified.payload.exp as number) * 1000);
  });

  it('refuses a missing or malformed token', async () => {
    const verifier = createVerifier({ issuer, audience, jwksUri: `${issuer}/jwks` });
    await expectRefused(verifier.verify(undefined), 'token_missing');
    await expectRefused(verifier.verify(''), 'token_missing');
    await expectRefused(verifier.verify('not-a-jwt'), 'token_malformed');
    await expectRefused(verifier.verify('a.b.c'), 'token_malformed');
  });

  it('refuses forged tokens with the right code', async () => {
    const verifier = createVerifier({ issuer, audience, jwksUri: `${issuer}/jwks` });
    const genuine = await issuedToken();
    const realKid = decodeProtectedHeader(genuine).kid!;
    const [header, payload, signature] = genuine.split('.');

    // Signed by another key that claims Keygate's kid.
    const { privateKey } = await generateKeyPair('ES256');
    const otherKey = await new SignJWT(claims()).setProtectedHeader({ alg: 'ES256', kid: realKid, typ: 'at+jwt' }).sign(privateKey);
    await expectRefused(verifier.verify(otherKey), 'signature_invalid');

    // alg: none.
    const unsigned = `${base64url.encode(JSON.stringify({ alg: 'none', typ: 'at+jwt' }))}.${payload}.`;
    await expectRefused(verifier.verify(unsigned), 'signature_invalid');

    // HS256 with the public key as the HMAC secret (the classic key-confusion attack).
    const publicJwk = (await (await fetch(`${issuer}/jwks`)).json()) as { keys: Array<Record<string, unknown>> };
    const secret = new TextEncoder().encode(JSON.stringify(publicJwk.keys[0]));
    const confused = await new SignJWT(claims()).setProtectedHeader({ alg: 'HS256', kid: realKid, typ: 'at+jwt' }).sign(secret);
    await expectRefused(verifier.verify(confused), 'signature_invalid');

    // A payload changed after signing.
    const tampered = `${header}.${base64url.encode(JSON.stringify({ ...claims(), scope: 'read write admin' }))}.${signature}`;
    await expectRefused(verifier.verify(tampered), 'signature_invalid');

    // A kid Keygate never published.
    const unknownKid = await signWithKeygateKey(claims(), { kid: 'no-such-kid' });
    await expectRefused(verifier.verify(unknownKid), 'signature_invalid');
  });

  it('refuses wrong claims signed with the real key', async () => {
    const verifier = createVerifier({ issuer, audience, jwksUri: `${issuer}/jwks` });
    const now = Math.floor(Date.now() / 1000);
    await expectRefused(verifier.verify(await signWithKeygateKey(claims(), { typ: 'JWT' })), 'claim_invalid');
    await expectRefused(verifier.verify(await signWithKeygateKey(claims({ iss: 'https://evil.example' }))), 'claim_invalid');
    await expectRefused(verifier.verify(await signWithKeygateKey(claims({ aud: 'https://other.api/' }))), 'claim_invalid');
    await expectRefused(verifier.verify(await signWithKeygateKey(claims({ iat: now - 900, exp: now - 600 }))), 'token_expired');
    await expectRefused(verifier.verify(await signWithKeygateKey(claims({ nbf: now + 600 }))), 'claim_invalid');
    await expectRefused(verifier.verify(await signWithKeygateKey(claims({ iat: now + 600 }))), 'claim_invalid');
    // Within the clock tolerance: accepted.
    expect((await verifier.verify(await signWithKeygateKey(claims({ iat: now + 3 })))).clientId).toBe(credentials.clientId);
  });

  it('requires scopes: from the options and from the call', async () => {
    const token = await issuedToken();
    const verifier = createVerifier({ issuer, audience, jwksUri: `${issuer}/jwks`, requiredScopes: ['read'] });
    expect((await verifier.verify(token)).scopes).toEqual(['read']);
    const refused = verifier.verify(token, { scopes: ['write'] });
    await expectRefused(refused, 'insufficient_scope');
    await refused.catch((error: { requiredScopes: string[]; status: number; wwwAuthenticate: string }) => {
      expect(error.requiredScopes).toEqual(['read', 'write']);
      expect(error.status).toBe(403);
      expect(error.wwwAuthenticate).toBe('Bearer error="insufficient_scope", error_description="the token lacks the scope write", scope="read write"');
    });
  });

  it('never accepts none or HS* even when asked to', () => {
    expect(() => createVerifier({ issuer, audience, algorithms: ['none'] })).toThrow('never accepted');
    expect(() => createVerifier({ issuer, audience, algorithms: ['ES256', 'HS256'] })).toThrow('never accepted');
  });

  it('reports jwks_unavailable when the keys cannot be fetched, and recovers', async () => {
    const token = await issuedToken();
    const down = createVerifier({ issuer: 'http://127.0.0.1:1', audience });
    await expectRefused(down.verify(token), 'jwks_unavailable');
    const wrongPath = createVerifier({ issuer, audience, jwksUri: `${issuer}/nothing-here` });
    await expectRefused(wrongPath.verify(token), 'jwks_unavailable');
  });

  it('a flood of unknown kids costs at most one JWKS fetch per cooldown', async () => {
    const verifier = createVerifier({ issuer, audience, jwksUri: `${issuer}/jwks` });
    await verifier.verify(await issuedToken());
    const before = jwksFetches;
    for (let i = 0; i < 50; i += 1) {
      await expectRefused(verifier.verify(await signWithKeygateKey(claims(), { kid: `forged-${i}` })), 'signature_invalid');
    }
    expect(jwksFetches - before).toBeLessThanOrEqual(1);
  });

  it('survives a signing-key rotation without a failed verification', async () => {
    // The verifier's clock is the test's, so its JWKS cooldown passes when the clock moves.
    const verifier = createVerifier({ issuer, audience, currentDate: kg.clock.alongsideRealTime });
    const nowSeconds = () => Math.floor(kg.clock.now().getTime() / 1000);
    expect((await verifier.verify(await issuedToken())).clientId).toBe(credentials.clientId);

    const added = await rotateKeys(kg.keygate.config, 60, nowSeconds());
    await kg.keygate.reloadKeys();
    // Tokens keep verifying while the new key is published but not yet signing...
    expect((await verifier.verify(await issuedToken())).clientId).toBe(credentials.clientId);
    // ...and once it signs, the verifier, having met a new kid, fetches the JWKS again.
    kg.clock.advance(61);
    const rotated = await issuedToken();
    expect(decodeProtectedHeader(rotated).kid).toBe(added.kid);
    expect((await verifier.verify(rotated)).clientId).toBe(credentials.clientId);
  });
});

