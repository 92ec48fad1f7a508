import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { calculateJwkThumbprint, createRemoteJWKSet, exportJWK, generateKeyPair, jwtVerify, SignJWT, type CryptoKey, type JWK } from 'jose';
import * as oauth from 'oauth4webapi';
import knexFactory, { type Knex } from 'knex';
import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServerProcess, type ServerProcess } from '../support/cli.js';
import { createKeypair, createTenant, ownDatabase, requestToken, startServedKeygate, startTestKeygate, TEST_ISSUER, whileTableLocked, type ServedKeygate, type Tenant, type TestKeygate } from '../support/keygate.js';

/**
 * DPoP-bound tokens (RFC 9449) at the token endpoint: a token request with a valid
 * proof gets a token bound to the proof's key (`cnf.jkt`, token_type DPoP), driven by
 * oauth4webapi, an independent client library; and each proof is accepted once.
 */
let kg: ServedKeygate;
let tenant: Tenant;

beforeAll(async () => {
  kg = await startServedKeygate();
  tenant = await createTenant(kg.keygate);
});
afterAll(() => kg.close());

const insecure = { [oauth.allowInsecureRequests]: true } as const;

async function discovered(): Promise<oauth.AuthorizationServer> {
  const issuer = new URL(kg.issuer);
  return oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, insecure));
}

/** A DPoP proof for POST /token of `issuer`, signed by `key`, with these claims changed. */
async function proof(key: { privateKey: CryptoKey; publicJwk: JWK }, issuer: string, claims: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT({ htm: 'POST', htu: `${issuer}/token`, jti: crypto.randomUUID(), iat: Math.floor(Date.now() / 1000), ...claims })
    .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: key.publicJwk })
    .sign(key.privateKey);
}

async function proofKey(): Promise<{ privateKey: CryptoKey; publicJwk: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  return { privateKey, publicJwk: await exportJWK(publicKey) };
}

function tokenRequest(client: { clientId: string; clientSecret: string }, dpop?: string) {
  const request = requestToken(kg.http, client).set('Host', new URL(kg.issuer).host);
  return dpop === undefined ? request : request.set('DPoP', dpop);
}

describe('DPoP at the token endpoint', () => {
  it('binds the token to the proof key: cnf.jkt is its RFC 7638 thumbprint and token_type is DPoP (oauth4webapi)', async () => {
    const { keypair, clientSecret } = await createKeypair(kg.keygate, { owner: { environmentId: tenant.environmentId } });
    const as = await discovered();
    expect(as.dpop_signing_alg_values_supported).toContain('ES256');
    const client: oauth.Client = { client_id: keypair.clientId };
    const dpopKeys = await oauth.generateKeyPair('ES256');
    const DPoP = oauth.DPoP(client, dpopKeys);

    const response = await oauth.clientCredentialsGrantRequest(as, client, oauth.ClientSecretBasic(clientSecret), new URLSearchParams({ scope: 'read' }), { ...insecure, DPoP });
    const tokens = await oauth.processClientCredentialsResponse(as, client, response);

    expect(tokens.token_type).toBe('dpop');
    const { payload } = await jwtVerify(tokens.access_token, createRemoteJWKSet(new URL(`${kg.issuer}/jwks`)), { issuer: kg.issuer, typ: 'at+jwt' });
    expect(payload.cnf).toEqual({ jkt: await calculateJwkThumbprint(await exportJWK(dpopKeys.publicKey)) });
    expect(payload.scope).toBe('read');
  });

  it('gives a Bearer token with no cnf to a request with no proof', async () => {
    const { keypair, clientSecret } = await createKeypair(kg.keygate, { owner: { environmentId: tenant.environmentId } });
    const response = await tokenRequest({ clientId: keypair.clientId, clientSecret });
    expect(response.status).toBe(200);
    expect(response.body.token_type).toBe('Bearer');
    const payload = JSON.parse(Buffer.from((response.body.access_token as string).split('.')[1]!, 'base64url').toString());
    expect(payload).not.toHaveProperty('cnf');
  });

  it('accepts a proof once: the same proof again is refused', async () => {
    const { keypair, clientSecret } = await createKeypair(kg.keygate, { owner: { environmentId: tenant.environmentId } });
    const client = { clientId: keypair.clientId, clientSecret };
    const once = await proof(await proofKey(), kg.issuer);
    expect((await tokenRequest(client, once)).status).toBe(200);
    const replayed = await tokenRequest(client, once);
    expect(replayed.status).toBe(400);
    expect(replayed.body.error).toBe('invalid_dpop_proof');
  });

  it('refuses a proof made for another URL, another method, or too long ago', async () => {
    const { keypair, clientSecret } = await createKeypair(kg.keygate, { owner: { environmentId: tenant.environmentId } });
    const client = { clientId: keypair.clientId, clientSecret };
    const key = await proofKey();
    for (const claims of [{ htu: 'https://elsewhere.test/token' }, { htm: 'GET' }, { iat: Math.floor(Date.now() / 1000) - 3600 }]) {
      const response = await tokenRequest(client, await proof(key, kg.issuer, claims));
      expect(response.status, JSON.stringify(claims)).toBe(400);
      expect(response.body.error).toBe('invalid_dpop_proof');
    }
  });

  it('refuses a proof dated up to 300 s ahead again for as long as its iat keeps it acceptable', async () => {
    const { keypair, clientSecret } = await createKeypair(kg.keygate, { owner: { environmentId: tenant.environmentId } });
    const client = { clientId: keypair.clientId, clientSecret };
    const ahead = await proof(await proofKey(), kg.issuer, { iat: Math.floor(Date.now() / 1000) + 290 });
    expect((await tokenRequest(client, ahead)).status).toBe(200);
    // 301 s on for Keygate's clock (which dates the replay rows), while oidc-provider,
    // on the real clock, still finds the iat recent: a replay must still be caught.
    kg.clock.advance((Date.now() - kg.clock.now().getTime()) / 1000 + 301);
    const replayed = await tokenRequest(client, ahead);
    expect(replayed.status).toBe(400);
    expect(replayed.body.error).toBe('invalid_dpop_proof');
  });
});

// Two processes need a real PostgreSQL (the embedded PGlite belongs to one process).
const databaseUrl = process.env.TEST_DATABASE_URL;

describe.runIf(databaseUrl)('DPoP proofs across processes', () => {
  let local: TestKeygate;
  let other: ServerProcess;
  let otherTenant: Tenant;

  beforeAll(async () => {
    local = await startTestKeygate();
    otherTenant = await createTenant(local.keygate);
    const dir = await mkdtemp(path.join(tmpdir(), 'keygate-dpop-'));
    other = await startServerProcess({ DATABASE_URL: databaseUrl!, KEYS_FILE: path.join(local.dir, 'jwks.json'), ISSUER: TEST_ISSUER }, dir);
  });
  afterAll(async () => {
    await other?.stop();
    await local?.close();
  });

  it('a proof accepted by one process is refused as a replay by the other', async () => {
    const { keypair, clientSecret } = await createKeypair(local.keygate, { owner: { environmentId: otherTenant.environmentId } });
    const client = { clientId: keypair.clientId, clientSecret };
    const once = await proof(await proofKey(), TEST_ISSUER);
    const host = new URL(TEST_ISSUER).host;

    const first = await requestToken(local.http, client).set('Host', host).set('DPoP', once);
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    const replayed = await requestToken(supertest(other.url), client).set('Host', host).set('DPoP', once);
    expect(replayed.status).toBe(400);
    expect(replayed.body.error).toBe('invalid_dpop_proof');
    // A fresh proof there is fine: the refusal was the replay's.
    expect((await requestToken(supertest(other.url), client).set('Host', host).set('DPoP', await proof(await proofKey(), TEST_ISSUER))).status).toBe(200);
  });
});

describe.runIf(databaseUrl)('a replay store the database does not answer', () => {
  let database: Awaited<ReturnType<typeof ownDatabase>>;
  let slow: ServedKeygate;
  let locker: Knex;

  beforeAll(async () => {
    database = await ownDatabase('dpop_outage');
    slow = await startServedKeygate({ ...database.env, DATABASE_STATEMENT_TIMEOUT: '1' });
    locker = knexFactory({ client: 'pg', connection: database.env.DATABASE_URL! });
  });
  afterAll(async () => {
    await locker?.destroy();
    await slow?.close();
    await database?.drop();
  });

  it('answers a proof it cannot record with 503 and Retry-After, never a 500 or a token', async () => {
    const slowTenant = await createTenant(slow.keygate);
    const { keypair, clientSecret } = await createKeypair(slow.keygate, { owner: { environmentId: slowTenant.environmentId } });
    const client = { clientId: keypair.clientId, clientSecret };
    const key = await proofKey();
    // Another connection holds used_jtis locked: the insert waits out the 1 s statement limit.
    await whileTableLocked(locker, 'used_jtis', async () => {
      const response = await requestToken(slow.http, client).set('Host', new URL(slow.issuer).host).set('DPoP', await proof(key, slow.issuer));
      expect(response.status, JSON.stringify(response.body)).toBe(503);
      expect(response.headers['retry-after']).toBeDefined();
      expect(response.body.error).toBe('temporarily_unavailable');
    });
    const after = await requestToken(slow.http, client).set('Host', new URL(slow.issuer).host).set('DPoP', await proof(key, slow.issuer));
    expect(after.status).toBe(200);
  });
});
