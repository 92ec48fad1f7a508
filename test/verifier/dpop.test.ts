import { createHash } from 'node:crypto';
import { createServer, type RequestListener } from 'node:http';
import Router from '@koa/router';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import Koa from 'koa';
import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authenticate, createVerifier, koaRequireToken, requireToken, type VerifiedToken, type Verifier, type VerifierErrorCode } from 'keygate/verifier';
import { createKeypair, createTenant, requestToken, startServedKeygate, type ServedKeygate } from '../support/keygate.js';

/**
 * DPoP-bound tokens at the resource server (RFC 9449 §4.3, §7): Keygate issues a token
 * bound to a proof key (cnf.jkt); the verifier accepts it only with a fresh proof, signed
 * by that key, for this request and this token.
 */
let kg: ServedKeygate;
let audience: string;
let credentials: { clientId: string; clientSecret: string };
let clientKey: ProofKey;
let boundToken: string;
let bearerToken: string;

interface ProofKey {
  privateKey: CryptoKey;
  publicJwk: JWK;
}

async function proofKey(): Promise<ProofKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  return { privateKey, publicJwk: await exportJWK(publicKey) };
}

/** A DPoP proof (typ dpop+jwt, the public key in its header) with these claims, `ath` made for `token` when given. */
async function proof(key: ProofKey, claims: JWTPayload, token?: string, header: Record<string, unknown> = {}): Promise<string> {
  const ath = token === undefined ? {} : { ath: createHash('sha256').update(token).digest('base64url') };
  return new SignJWT({ jti: crypto.randomUUID(), iat: Math.floor(Date.now() / 1000), ...ath, ...claims })
    .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: key.publicJwk, ...header })
    .sign(key.privateKey);
}

beforeAll(async () => {
  kg = await startServedKeygate();
  audience = kg.keygate.catalog.defaultServer!.identifier;
  const tenant = await createTenant(kg.keygate);
  const { keypair, clientSecret } = await createKeypair(kg.keygate, { owner: { environmentId: tenant.environmentId }, scopes: ['read'] });
  credentials = { clientId: keypair.clientId, clientSecret };
  clientKey = await proofKey();
  const host = new URL(kg.issuer).host;
  const bound = await requestToken(kg.http, credentials)
    .set('Host', host)
    .set('DPoP', await proof(clientKey, { htm: 'POST', htu: `${kg.issuer}/token` }));
  expect(bound.body.token_type).toBe('DPoP');
  boundToken = bound.body.access_token;
  bearerToken = (await requestToken(kg.http, credentials).set('Host', host)).body.access_token;
});

afterAll(() => kg.close());

const RESOURCE = 'https://api.example.test/reports';

function newVerifier(): Verifier {
  return createVerifier({ issuer: kg.issuer, audience });
}

async function expectRefused(promise: Promise<unknown>, code: VerifierErrorCode, message?: RegExp) {
  const error = await promise.then(
    () => undefined,
    (refusal: unknown) => refusal,
  );
  expect(error).toMatchObject({ name: 'VerifierError', code });
  if (message) expect((error as Error).message).toMatch(message);
}

describe('verify() with a DPoP-bound token from Keygate', () => {
  it('accepts it with a proof for this request signed by the bound key, ignoring the query', async () => {
    const verified = await newVerifier().verify(boundToken, {
      scopes: ['read'],
      dpop: { proof: await proof(clientKey, { htm: 'GET', htu: RESOURCE }, boundToken), method: 'GET', url: `${RESOURCE}?page=2#top` },
    });
    expect(verified.clientId).toBe(credentials.clientId);
    expect(verified.payload.cnf).toEqual({ jkt: await calculateJwkThumbprint(clientKey.publicJwk) });
  });

  it('refuses it without a proof, or presented as a Bearer token: dpop_required', async () => {
    const verifier = newVerifier();
    await expectRefused(verifier.verify(boundToken), 'dpop_required');
    await expectRefused(verifier.verify(boundToken, { dpop: { proof: undefined, method: 'GET', url: RESOURCE } }), 'dpop_required');
  });

  it('refuses a proof for another URL, another method, a stale or future iat, or another token: dpop_invalid', async () => {
    const verifier = newVerifier();
    const presented = async (claims: JWTPayload, token = boundToken) => ({ dpop: { proof: await proof(clientKey, { htm: 'GET', htu: RESOURCE, ...claims }, token), method: 'GET', url: RESOURCE } });
    await expectRefused(verifier.verify(boundToken, await presented({ htu: 'https://api.example.test/other' })), 'dpop_invalid', /htu/);
    await expectRefused(verifier.verify(boundToken, await presented({ htu: 'https://elsewhere.test/reports' })), 'dpop_invalid', /htu/);
    await expectRefused(verifier.verify(boundToken, await presented({ htm: 'POST' })), 'dpop_invalid', /htm/);
    const now = Math.floor(Date.now() / 1000);
    await expectRefused(verifier.verify(boundToken, await presented({ iat: now - 301 })), 'dpop_invalid', /iat/);
    await expectRefused(verifier.verify(boundToken, await presented({ iat: now + 301 })), 'dpop_invalid', /iat/);
    // A proof made for another token (the Bearer one): its ath is that token's hash.
    await expectRefused(verifier.verify(boundToken, await presented({}, bearerToken)), 'dpop_invalid', /ath/);
    await expectRefused(verifier.verify(boundToken, await presented({ ath: undefined })), 'dpop_invalid', /ath/);
  });

  it('honours its own iat window (dpopProofWindowSeconds)', async () => {
    const verifier = createVerifier({ issuer: kg.issuer, audience, dpopProofWindowSeconds: 30 });
    const stale = await proof(clientKey, { htm: 'GET', htu: RESOURCE, iat: Math.floor(Date.now() / 1000) - 60 }, boundToken);
    await expectRefused(verifier.verify(boundToken, { dpop: { proof: stale, method: 'GET', url: RESOURCE } }), 'dpop_invalid', /iat is not within 30 s/);
  });

  it('refuses a proof signed by another key than cnf.jkt, a bad signature, a private or missing jwk, a wrong typ or alg', async () => {
    const verifier = newVerifier();
    const claims = { htm: 'GET', htu: RESOURCE };
    const check = (dpop: string) => verifier.verify(boundToken, { dpop: { proof: dpop, method: 'GET', url: RESOURCE } });
    await expectRefused(check(await proof(await proofKey(), claims, boundToken)), 'dpop_invalid', /cnf\.jkt/);
    // The bound key in the header, signed by another: the signature check fails.
    const other = await proofKey();
    await expectRefused(check(await proof({ privateKey: other.privateKey, publicJwk: clientKey.publicJwk }, claims, boundToken)), 'dpop_invalid', /signature/);
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const privateJwk = await exportJWK(privateKey);
    await expectRefused(check(await proof({ privateKey, publicJwk: privateJwk }, claims, boundToken)), 'dpop_invalid', /public key/);
    await expectRefused(check(await proof(clientKey, claims, boundToken, { jwk: undefined })), 'dpop_invalid', /jwk/);
    await expectRefused(check(await proof(clientKey, claims, boundToken, { typ: 'JWT' })), 'dpop_invalid', /typ/);
    const hmac = await new SignJWT({ ...claims, jti: 'x', iat: Math.floor(Date.now() / 1000) })
      .setProtectedHeader({ alg: 'HS256', typ: 'dpop+jwt', jwk: clientKey.publicJwk })
      .sign(new Uint8Array(32));
    await expectRefused(check(hmac), 'dpop_invalid', /alg/);
    await expectRefused(check('not-a-jwt'), 'dpop_invalid', /well-formed/);
  });

  it('accepts a proof once: the same proof again is a replay (dpop_invalid), even after a failed check', async () => {
    const verifier = newVerifier();
    const once = await proof(clientKey, { htm: 'GET', htu: RESOURCE }, boundToken);
    // A failed check (wrong method) does not spend the proof's jti.
    await expectRefused(verifier.verify(boundToken, { dpop: { proof: once, method: 'POST', url: RESOURCE } }), 'dpop_invalid', /htm/);
    await verifier.verify(boundToken, { dpop: { proof: once, method: 'GET', url: RESOURCE } });
    await expectRefused(verifier.verify(boundToken, { dpop: { proof: once, method: 'GET', url: RESOURCE } }), 'dpop_invalid', /used before/);
    // A fresh proof is fine: the refusal was the replay's.
    await verifier.verify(boundToken, { dpop: { proof: await proof(clientKey, { htm: 'GET', htu: RESOURCE }, boundToken), method: 'GET', url: RESOURCE } });
  });
});

describe('the replay cache', () => {
  it('is bounded: past dpopReplayCacheSize the oldest proof is forgotten first', async () => {
    const verifier = createVerifier({ issuer: kg.issuer, audience, dpopReplayCacheSize: 2 });
    const request = (dpop: string) => verifier.verify(boundToken, { dpop: { proof: dpop, method: 'GET', url: RESOURCE } });
    const [first, second, third] = await Promise.all([1, 2, 3].map(() => proof(clientKey, { htm: 'GET', htu: RESOURCE }, boundToken)));
    await request(first!);
    await request(second!);
    await expectRefused(request(first!), 'dpop_invalid', /used before/);
    await request(third!); // the cache holds two: `first` is forgotten
    await expectRefused(request(third!), 'dpop_invalid', /used before/);
    await expectRefused(request(second!), 'dpop_invalid', /used before/);
    await request(first!);
  });
});

describe('verify() with a Bearer token from Keygate', () => {
  it('still verifies as before, and is dpop_invalid under the DPoP scheme (no cnf to bind)', async () => {
    const verifier = newVerifier();
    expect((await verifier.verify(bearerToken, { scopes: ['read'] })).clientId).toBe(credentials.clientId);
    // Presented with the DPoP scheme, a token with no cnf is refused (RFC 9449 §7.2).
    const dpop = { proof: await proof(clientKey, { htm: 'GET', htu: RESOURCE }, bearerToken), method: 'GET', url: RESOURCE };
    await expectRefused(verifier.verify(bearerToken, { dpop }), 'dpop_invalid', /not DPoP-bound/);
  });
});

/** GET /reports behind each middleware, needing `read`. */
function koaServer(verifier: Verifier, publicOrigin?: string): RequestListener {
  const router = new Router();
  router.get('/reports', koaRequireToken(verifier, { scopes: ['read'], publicOrigin }), (ctx) => {
    ctx.body = { readBy: (ctx.state.token as VerifiedToken).clientId };
  });
  return new Koa().use(router.routes()).callback();
}

function nodeServer(verifier: Verifier, publicOrigin?: string): RequestListener {
  return async (req, res) => {
    const token = await authenticate(verifier, req, res, { scopes: ['read'], publicOrigin });
    if (token) res.end(JSON.stringify({ readBy: token.clientId }));
  };
}

function expressStyleServer(verifier: Verifier, publicOrigin?: string): RequestListener {
  const middleware = requireToken(verifier, { scopes: ['read'], publicOrigin });
  return (req, res) => {
    const request = req as typeof req & { auth?: VerifiedToken };
    middleware(request, res, () => res.end(JSON.stringify({ readBy: request.auth?.clientId })));
  };
}

const ALGS = 'algs="ES256 ES384 RS256 PS256 EdDSA Ed25519"';

describe.each([
  ['Koa (koaRequireToken)', koaServer],
  ['node:http (authenticate)', nodeServer],
  ['Express-style (requireToken)', expressStyleServer],
])('the middleware over HTTP: %s', (_name, serverOf) => {
  /** The server on a loopback port: a proof's htu is the URL the client calls. */
  async function served(publicOrigin?: string) {
    const server = createServer(serverOf(newVerifier(), publicOrigin));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/reports`;
    return { url, http: supertest(server), close: () => new Promise((resolve) => server.close(resolve)) };
  }

  it('accepts Authorization: DPoP with a proof for the URL called, and a Bearer token as before', async () => {
    const rs = await served();
    try {
      const ok = await rs.http.get('/reports?page=2').set('Authorization', `DPoP ${boundToken}`).set('DPoP', await proof(clientKey, { htm: 'GET', htu: rs.url }, boundToken));
      expect(ok.status, ok.text).toBe(200);
      expect(JSON.parse(ok.text)).toEqual({ readBy: credentials.clientId });
      expect((await rs.http.get('/reports').set('Authorization', `Bearer ${bearerToken}`)).status).toBe(200);
      // A stray DPoP header next to a Bearer token with no cnf is ignored.
      expect((await rs.http.get('/reports').set('Authorization', `Bearer ${bearerToken}`).set('DPoP', 'ignored')).status).toBe(200);
    } finally {
      await rs.close();
    }
  });

  it('answers 401 with a DPoP challenge: invalid_token without a proof or as Bearer, invalid_dpop_proof for a bad or replayed proof', async () => {
    const rs = await served();
    try {
      const asBearer = await rs.http.get('/reports').set('Authorization', `Bearer ${boundToken}`);
      expect(asBearer.status).toBe(401);
      expect(asBearer.headers['www-authenticate']).toMatch(new RegExp(`^DPoP error="invalid_token", error_description="the token is DPoP-bound[^"]*", ${ALGS}$`));
      expect(JSON.parse(asBearer.text).error).toBe('invalid_token');

      const noProof = await rs.http.get('/reports').set('Authorization', `DPoP ${boundToken}`);
      expect(noProof.status).toBe(401);
      expect(noProof.headers['www-authenticate']).toMatch(/^DPoP error="invalid_token"/);

      const otherUrl = await rs.http.get('/reports').set('Authorization', `DPoP ${boundToken}`).set('DPoP', await proof(clientKey, { htm: 'GET', htu: `${rs.url}/other` }, boundToken));
      expect(otherUrl.status).toBe(401);
      expect(otherUrl.headers['www-authenticate']).toBe(`DPoP error="invalid_dpop_proof", error_description="the DPoP proof htu does not match the request URL", ${ALGS}`);
      expect(JSON.parse(otherUrl.text)).toEqual({ error: 'invalid_dpop_proof', error_description: 'the DPoP proof htu does not match the request URL' });

      const once = await proof(clientKey, { htm: 'GET', htu: rs.url }, boundToken);
      expect((await rs.http.get('/reports').set('Authorization', `DPoP ${boundToken}`).set('DPoP', once)).status).toBe(200);
      const replayed = await rs.http.get('/reports').set('Authorization', `DPoP ${boundToken}`).set('DPoP', once);
      expect(replayed.status).toBe(401);
      expect(replayed.headers['www-authenticate']).toMatch(/^DPoP error="invalid_dpop_proof", error_description="the DPoP proof has been used before/);

      // A token with no cnf under the DPoP scheme; and a forged token under it keeps the DPoP challenge.
      const unbound = await rs.http.get('/reports').set('Authorization', `DPoP ${bearerToken}`).set('DPoP', await proof(clientKey, { htm: 'GET', htu: rs.url }, bearerToken));
      expect(unbound.headers['www-authenticate']).toMatch(/^DPoP error="invalid_dpop_proof", error_description="the token is not DPoP-bound/);
      const forged = await rs.http.get('/reports').set('Authorization', `DPoP ${boundToken.slice(0, -4)}AAAA`);
      expect(forged.headers['www-authenticate']).toBe(`DPoP error="invalid_token", error_description="the token signature is not valid", ${ALGS}`);
    } finally {
      await rs.close();
    }
  });

  it('checks htu against publicOrigin when set (the external URL behind a proxy)', async () => {
    const rs = await served('https://api.example.test/');
    try {
      const external = await rs.http.get('/reports').set('Authorization', `DPoP ${boundToken}`).set('DPoP', await proof(clientKey, { htm: 'GET', htu: RESOURCE }, boundToken));
      expect(external.status, external.text).toBe(200);
      const internal = await rs.http.get('/reports').set('Authorization', `DPoP ${boundToken}`).set('DPoP', await proof(clientKey, { htm: 'GET', htu: rs.url }, boundToken));
      expect(internal.status).toBe(401);
      expect(JSON.parse(internal.text).error_description).toMatch(/htu/);
    } finally {
      await rs.close();
    }
  });
});
