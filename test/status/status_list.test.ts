import { getListFromStatusListJWT, getStatusListFromJWT } from '@sd-jwt/jwt-status-list';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVerifier, type Verifier } from 'keygate/verifier';
import { createKeypair, createTenant, OPERATOR, requestToken, startServedKeygate, type ServedKeygate } from '../support/keygate.js';

let kg: ServedKeygate;
let issuer: string;
let audience: string;
let tenant: Awaited<ReturnType<typeof createTenant>>;
/** When set, the loopback server answers status-list requests with 503 (Keygate unreachable). */
let statusListsDown = false;

beforeAll(async () => {
  kg = await startServedKeygate({ STATUS_LIST_TTL: '30' }, (req, res) => {
    if (!statusListsDown || !req.url?.startsWith('/statuslists/')) return false;
    res.statusCode = 503;
    res.end();
    return true;
  });
  issuer = kg.issuer;
  tenant = await createTenant(kg.keygate);
  audience = kg.keygate.catalog.defaultServer!.identifier;
});

afterAll(() => kg.close());

const verifierOnTestClock = (options: { statusListFailure?: 'reject' | 'accept' } = {}): Verifier =>
  createVerifier({ issuer, audience, currentDate: kg.clock.alongsideRealTime, ...options });

async function newClient(scopes = ['read']) {
  const { keypair, clientSecret } = await createKeypair(kg.keygate, { owner: { environmentId: tenant.environmentId }, scopes });
  return { clientId: keypair.clientId, clientSecret };
}

async function tokenFor(client: { clientId: string; clientSecret: string }): Promise<string> {
  const response = await requestToken(kg.http, client);
  expect(response.status).toBe(200);
  return response.body.access_token;
}

async function statusListJwt(uri: string): Promise<string> {
  const response = await kg.http.get(new URL(uri).pathname);
  expect(response.status).toBe(200);
  return response.text;
}

describe('the status claim and the Status List Token', () => {
  it('every token carries its secret’s index, and the list decodes with an independent implementation', async () => {
    const client = await newClient();
    const token = await tokenFor(client);
    const reference = getStatusListFromJWT(token);
    expect(reference.uri).toMatch(new RegExp(`^${issuer}/statuslists/\\d+$`));
    expect(Number.isInteger(reference.idx)).toBe(true);

    const response = await kg.http.get(new URL(reference.uri).pathname);
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toMatch(/^application\/statuslist\+jwt/);
    expect(response.headers['cache-control']).toBe('public, max-age=30');
    const listJwt = response.text;
    expect(decodeProtectedHeader(listJwt)).toMatchObject({ typ: 'statuslist+jwt', alg: 'ES256', kid: expect.any(String) });
    const payload = decodeJwt(listJwt);
    expect(payload).toMatchObject({ iss: issuer, sub: reference.uri, ttl: 30, status_list: { bits: 1, lst: expect.any(String) } });
    expect(payload.exp! - payload.iat!).toBe(60);

    // @sd-jwt/jwt-status-list decodes Keygate's list: the index is valid (0).
    expect(getListFromStatusListJWT(listJwt).getStatus(reference.idx)).toBe(0);

    await kg.keygate.keypairs.disableKeypair(OPERATOR, client.clientId, 'revoked in a test');
    kg.clock.advance(2);
    expect(getListFromStatusListJWT(await statusListJwt(reference.uri)).getStatus(reference.idx)).toBe(1);
    await kg.keygate.keypairs.enableKeypair(OPERATOR, client.clientId);
    kg.clock.advance(2);
    expect(getListFromStatusListJWT(await statusListJwt(reference.uri)).getStatus(reference.idx)).toBe(0);
  });

  it('bits match keypair state for many indexes at once, including deleted ones', async () => {
    const clients = [await newClient(), await newClient(), await newClient(), await newClient()];
    const references = await Promise.all(clients.map(async (client) => getStatusListFromJWT(await tokenFor(client))));
    await kg.keygate.keypairs.disableKeypair(OPERATOR, clients[1]!.clientId);
    await kg.keygate.keypairs.deleteKeypair(OPERATOR, clients[3]!.clientId);
    kg.clock.advance(2);
    const list = getListFromStatusListJWT(await statusListJwt(references[0]!.uri));
    expect(references.map((reference) => list.getStatus(reference.idx))).toEqual([0, 1, 0, 1]);
  });

  it('answers 404 for a list that does not exist and 406 for a format it does not serve', async () => {
    expect((await kg.http.get('/statuslists/99999')).status).toBe(404);
    expect((await kg.http.get('/statuslists/0').set('Accept', 'application/statuslist+cwt')).status).toBe(406);
    expect((await kg.http.get('/statuslists/0').set('Accept', 'application/statuslist+jwt')).status).toBe(200);
  });

  it('allocates distinct indexes to keypairs created at the same time', async () => {
    const created = await Promise.all(Array.from({ length: 20 }, () => newClient()));
    const indexes = await kg.keygate.db.knex('keypair_secrets').whereIn('client_id', created.map((client) => client.clientId)).pluck('status_idx');
    expect(new Set(indexes.map(Number)).size).toBe(20);
  });
});

describe('revocation reaches resource servers within the list ttl', () => {
  it('a disabled keypair’s token is refused as token_revoked once the ttl passes; another keypair’s is not', async () => {
    const verifier = verifierOnTestClock();
    const revoked = await newClient();
    const healthy = await newClient();
    const revokedToken = await tokenFor(revoked);
    const healthyToken = await tokenFor(healthy);
    expect((await verifier.verify(revokedToken)).clientId).toBe(revoked.clientId);

    await kg.keygate.keypairs.disableKeypair(OPERATOR, revoked.clientId, 'compromised');
    // Within the ttl the verifier still holds the list it fetched: the revocation window.
    expect((await verifier.verify(revokedToken)).clientId).toBe(revoked.clientId);
    kg.clock.advance(31);
    await expect(verifier.verify(revokedToken)).rejects.toMatchObject({ code: 'token_revoked', status: 401 });
    expect((await verifier.verify(healthyToken)).clientId).toBe(healthy.clientId);
  });

  it('a rotation with grace keeps the new secret’s tokens valid and revokes the old secret’s when the grace ends', async () => {
    const verifier = verifierOnTestClock();
    const client = await newClient();
    const oldToken = await tokenFor(client);
    const rotated = await kg.keygate.keypairs.rotateSecret(OPERATOR, client.clientId, 60);
    const newToken = await tokenFor({ clientId: client.clientId, clientSecret: rotated.clientSecret });
    expect(getStatusListFromJWT(newToken).idx).not.toBe(getStatusListFromJWT(oldToken).idx);
    expect((await verifier.verify(oldToken)).clientId).toBe(client.clientId);
    expect((await verifier.verify(newToken)).clientId).toBe(client.clientId);

    kg.clock.advance(61 + 31);
    await expect(verifier.verify(oldToken)).rejects.toMatchObject({ code: 'token_revoked' });
    expect((await verifier.verify(newToken)).clientId).toBe(client.clientId);
  });

  it('fails closed by default when the list cannot be fetched, and open when configured', async () => {
    const client = await newClient();
    const token = await tokenFor(client);
    const closed = verifierOnTestClock();
    const open = verifierOnTestClock({ statusListFailure: 'accept' });
    // Both verifiers have their keys before Keygate's lists become unreachable.
    kg.clock.advance(2);
    await closed.verify(await tokenFor(await newClient())).catch(() => undefined);
    statusListsDown = true;
    try {
      kg.clock.advance(31);
      await expect(closed.verify(token)).rejects.toMatchObject({ code: 'status_unavailable', status: 503 });
      expect((await open.verify(token)).clientId).toBe(client.clientId);
    } finally {
      statusListsDown = false;
    }
  });
});
