/**
 * The benchmark's cases for keypairs with no shared secret (issue 17): the same number
 * of secret, public-key (private_key_jwt) and federated keypairs, created over the admin
 * API while the server runs, each kind under the same load, on the same server.
 *
 * - secret: client_secret_basic, a keypair drawn at random per request;
 * - public_key: a fresh client assertion per request (its jti is spent in the replay
 *   store: one database write per request), signed before the case starts;
 * - federated: a workload's platform token (RS256, from an issuer served here on
 *   loopback, trusted over the admin API), reused as a pod reuses its projected token.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import type { AdminApi } from './admin.js';
import { HeaderFile, loadForm, loadToken, type LoadOptions, type LoadResult } from './load.js';

const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** Keypairs of each kind: as many as a busy environment's distinct clients. */
const PER_KIND = 100;

interface Row extends Partial<LoadResult> {
  case: string;
  note?: string;
}

export interface KeylessResults {
  readonly secret: LoadResult;
  readonly publicKey: LoadResult;
  readonly federated: LoadResult;
}

export async function keylessCases(api: AdminApi, environmentId: string, issuer: string, work: string, load: LoadOptions, rows: Row[], label: string): Promise<KeylessResults> {
  const platform = await startPlatformIssuer();
  try {
    const trusted = await post(api, '/admin/v1/trusted-issuers', { issuer: platform.issuer, name: 'bench platform' });
    if (!trusted.ok) throw new Error(`trusted issuer create answered ${trusted.status}: ${await trusted.text()}`);

    const secretHeaders: string[] = [];
    const clientKeys: Array<{ clientId: string; privateKey: CryptoKey }> = [];
    const federatedBodies: string[] = [];
    for (let i = 0; i < PER_KIND; i += 1) {
      const secret = await createKeypair(api, environmentId, { name: `bench-secret-${i}` });
      secretHeaders.push(`Basic ${Buffer.from(`${secret.clientId}:${secret.clientSecret!}`).toString('base64')}`);

      const { privateKey, publicKey } = await generateKeyPair('ES256');
      const signing = await createKeypair(api, environmentId, { name: `bench-key-${i}`, publicKeys: [await exportJWK(publicKey)] });
      clientKeys.push({ clientId: signing.clientId, privateKey });

      const subject = `system:serviceaccount:bench:workload-${i}`;
      const federated = await createKeypair(api, environmentId, { name: `bench-federated-${i}`, federation: { issuer: platform.issuer, subject } });
      const token = await platform.token({ sub: subject, aud: issuer });
      federatedBodies.push(form({ grant_type: 'client_credentials', client_id: federated.clientId, client_assertion_type: JWT_BEARER, client_assertion: token }));
    }

    const secretFile = await HeaderFile.write(path.join(work, `${label}-keyless-secret.txt`), secretHeaders);
    await loadToken(issuer, secretFile, { ...load, durationSeconds: 2 });
    const secret = await loadToken(issuer, secretFile, load);
    rows.push({ case: `token, ${PER_KIND} secret keypairs random, client_secret_basic (${label})`, ...secret });

    // One assertion per request, each with its own jti, for as many requests as the
    // secret case managed and half again; signed now, so none is near its exp.
    const assertionCount = Math.ceil(secret.rps * load.durationSeconds * 1.5) + 1000;
    const assertionBodies: string[] = [];
    for (let i = 0; i < assertionCount; i += 1) {
      const { clientId, privateKey } = clientKeys[i % clientKeys.length]!;
      const now = Math.floor(Date.now() / 1000);
      const assertion = await new SignJWT({ iss: clientId, sub: clientId, aud: issuer, jti: crypto.randomUUID(), iat: now, exp: now + 240 }).setProtectedHeader({ alg: 'ES256' }).sign(privateKey);
      assertionBodies.push(form({ grant_type: 'client_credentials', client_assertion_type: JWT_BEARER, client_assertion: assertion }));
    }
    const warmUp = await HeaderFile.write(path.join(work, `${label}-keyless-warm.txt`), assertionBodies.splice(0, 1000));
    await loadForm(issuer, warmUp, { ...load, durationSeconds: 1, mode: 'sequential' });
    const assertionFile = await HeaderFile.write(path.join(work, `${label}-keyless-assertions.txt`), assertionBodies);
    const publicKey = await loadForm(issuer, assertionFile, { ...load, mode: 'sequential' });
    rows.push({
      case: `token, ${PER_KIND} public-key keypairs, private_key_jwt, a new assertion per request (${label})`,
      ...publicKey,
      ...(publicKey.wrapped > 0 && { note: `${publicKey.wrapped} assertions sent twice (refused as replays)` }),
    });

    const federatedFile = await HeaderFile.write(path.join(work, `${label}-keyless-federated.txt`), federatedBodies);
    await loadForm(issuer, federatedFile, { ...load, durationSeconds: 2 });
    const federated = await loadForm(issuer, federatedFile, load);
    rows.push({ case: `token, ${PER_KIND} federated keypairs random, a platform token reused (${label}; ${platform.jwksFetches} JWKS fetch)`, ...federated });
    return { secret, publicKey, federated };
  } finally {
    await platform.close();
  }
}

async function createKeypair(api: AdminApi, environmentId: string, body: Record<string, unknown>): Promise<{ clientId: string; clientSecret?: string }> {
  const response = await post(api, `/admin/v1/environments/${environmentId}/keypairs`, { scopes: ['read'], ...body });
  if (response.status !== 201) throw new Error(`keypair create answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as { clientId: string; clientSecret?: string };
}

function post(api: AdminApi, route: string, body: unknown): Promise<Response> {
  return fetch(`${api.url}${route}`, { method: 'POST', headers: api.headers, body: JSON.stringify(body) });
}

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

/** A workload platform's issuer on loopback: discovery and a JWKS, tokens signed with RS256 as Kubernetes signs them. */
async function startPlatformIssuer() {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'bench', alg: 'RS256', use: 'sig' };
  let jwksFetches = 0;
  const server = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    if (req.url === '/.well-known/openid-configuration') return res.end(JSON.stringify({ issuer, jwks_uri: `${issuer}/jwks` }));
    if (req.url === '/jwks') {
      jwksFetches += 1;
      return res.end(JSON.stringify({ keys: [jwk] }));
    }
    res.statusCode = 404;
    res.end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    issuer,
    get jwksFetches() {
      return jwksFetches;
    },
    token: (claims: Record<string, unknown>) => {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ iss: issuer, iat: now, exp: now + 3600, ...claims }).setProtectedHeader({ alg: 'RS256', kid: 'bench' }).sign(privateKey);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
