import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser, type TestUser } from '../support/admin.js';
import { createTenant, startServedKeygate, type ServedKeygate, type Tenant } from '../support/keygate.js';
import { startTestIssuer, type TestIssuer } from '../support/test_issuer.js';

/**
 * Federated keypairs (workload identity): a trusted issuer, served by the test as a
 * Kubernetes API server or GitHub Actions serves its keys, signs the workload's token;
 * the workload sends it as its client_assertion with the keypair's client_id, and gets
 * Keygate's token with the keypair's grants. No secret and no key exist anywhere.
 */
let kg: ServedKeygate;
let tenant: Tenant;
let admin: TestUser;
let operator: TestUser;
let cluster: TestIssuer;
let github: TestIssuer;

const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const SERVICE_ACCOUNT = 'system:serviceaccount:payments:api';

beforeAll(async () => {
  kg = await startServedKeygate();
  tenant = await createTenant(kg.keygate);
  admin = await createUser(kg.keygate, { environments: [tenant] });
  operator = await createUser(kg.keygate, { operator: true });
  [cluster, github] = [await startTestIssuer(), await startTestIssuer()];
  // The cluster by discovery (no jwksUri: its /.well-known/openid-configuration names it);
  // GitHub by an explicit jwksUri and an audience of its own, as a workflow asks for one.
  await trust({ issuer: cluster.issuer, name: 'payments cluster' });
  await trust({ issuer: github.issuer, name: 'GitHub Actions', jwksUri: github.jwksUri, audience: 'keygate-ci' });
});
afterAll(async () => {
  await kg.close();
  await cluster.close();
  await github.close();
});

async function trust(body: Record<string, unknown>): Promise<string> {
  const response = await kg.http.post('/admin/v1/trusted-issuers').set('Authorization', operator.bearer).send(body);
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  return response.body.id as string;
}

async function createFederatedKeypair(federation: Record<string, unknown>): Promise<string> {
  const response = await kg.http
    .post(`/admin/v1/environments/${tenant.environmentId}/keypairs`)
    .set('Authorization', admin.bearer)
    .send({ name: 'workload', scopes: ['read'], federation });
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  expect(response.body).not.toHaveProperty('clientSecret');
  expect(response.body.credentialType).toBe('federated');
  return response.body.clientId as string;
}

function tokenWith(clientId: string, platformToken: string) {
  return kg.http.post('/token').type('form').send({ grant_type: 'client_credentials', client_id: clientId, client_assertion_type: JWT_BEARER, client_assertion: platformToken });
}

/** The keypair's recent requests, each as its reason (or `issued`), sorted: the test clock stands still, so they share one time and their order is not the log's to give. */
async function usageReasons(clientId: string): Promise<string[]> {
  await kg.keygate.usage!.flush();
  const usage = await kg.http.get(`/admin/v1/keypairs/${clientId}/usage`).set('Authorization', admin.bearer);
  return (usage.body.recentRequests as Array<{ reason: string | null; outcome: string }>).map((request) => request.reason ?? request.outcome).sort();
}

/** A projected service-account token, as the kubelet writes it into a pod (audience = Keygate's issuer). */
function serviceAccountToken(claims: Record<string, unknown> = {}) {
  return cluster.token({
    sub: SERVICE_ACCOUNT,
    aud: [kg.issuer],
    'kubernetes.io': { namespace: 'payments', serviceaccount: { name: 'api', uid: crypto.randomUUID() } },
    ...claims,
  });
}

/** A GitHub Actions OIDC token, as `id-token: write` gets it with audience keygate-ci. */
function actionsToken(claims: Record<string, unknown> = {}) {
  return github.token({
    sub: 'repo:acme/payments:environment:production',
    aud: 'keygate-ci',
    repository: 'acme/payments',
    ref: 'refs/heads/main',
    environment: 'production',
    ...claims,
  });
}

describe('federated keypairs', () => {
  it('a Kubernetes service-account token gets a Keygate token with the keypair grants, and the same platform token again too', async () => {
    const clientId = await createFederatedKeypair({ issuer: cluster.issuer, subject: SERVICE_ACCOUNT });
    const platformToken = await serviceAccountToken();
    const response = await tokenWith(clientId, platformToken);
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    const { payload } = await jwtVerify(response.body.access_token, createRemoteJWKSet(new URL(`${kg.issuer}/jwks`)), { issuer: kg.issuer, typ: 'at+jwt' });
    expect(payload).toMatchObject({ client_id: clientId, scope: 'read', environment_id: tenant.environmentId });
    // A pod re-reads one projected token for its lifetime: it is not spent like a client assertion.
    expect((await tokenWith(clientId, platformToken)).status).toBe(200);
  });

  it('a GitHub Actions token gets a token when its claims match, and is refused when one does not', async () => {
    const clientId = await createFederatedKeypair({
      issuer: github.issuer,
      subject: 'repo:acme/payments:environment:production',
      claims: { repository: 'acme/payments', ref: 'refs/heads/main' },
    });
    expect((await tokenWith(clientId, await actionsToken())).status).toBe(200);
    const otherBranch = await tokenWith(clientId, await actionsToken({ ref: 'refs/heads/feature' }));
    expect(otherBranch.status).toBe(401);
    expect(otherBranch.body.error).toBe('invalid_client');
    expect(await usageReasons(clientId)).toEqual(['federation_claim_mismatch', 'issued']);
  });

  it('refuses a wrong subject, audience or issuer, an expired token and a key the issuer does not publish, each with its reason', async () => {
    const clientId = await createFederatedKeypair({ issuer: cluster.issuer, subject: SERVICE_ACCOUNT });
    const now = Math.floor(Date.now() / 1000);
    const wrong = [
      await serviceAccountToken({ sub: 'system:serviceaccount:payments:other' }),
      await serviceAccountToken({ aud: ['https://elsewhere.test'] }),
      // The same subject, but from the other trusted issuer: trust is per keypair's issuer.
      await github.token({ sub: SERVICE_ACCOUNT, aud: kg.issuer }),
      await serviceAccountToken({ iat: now - 7200, exp: now - 3600 }),
      await cluster.token({ sub: SERVICE_ACCOUNT, aud: kg.issuer }, { signWith: 'stranger' }),
    ];
    for (const token of wrong) {
      const response = await tokenWith(clientId, token);
      expect(response.status).toBe(401);
      expect(response.body.error).toBe('invalid_client');
    }
    expect(await usageReasons(clientId)).toEqual(
      ['federation_subject_mismatch', 'assertion_audience_mismatch', 'assertion_key_unknown', 'assertion_expired', 'assertion_key_unknown'].sort(),
    );
  });

  it('an unknown kid refetches the issuer keys at most once per 30 s, however many tokens carry it', async () => {
    const clientId = await createFederatedKeypair({ issuer: cluster.issuer, subject: SERVICE_ACCOUNT });
    expect((await tokenWith(clientId, await serviceAccountToken())).status).toBe(200);
    const fetchesBefore = cluster.jwksFetches;
    for (let i = 0; i < 5; i += 1) {
      expect((await tokenWith(clientId, await cluster.token({ sub: SERVICE_ACCOUNT, aud: kg.issuer }, { signWith: 'stranger' }))).status).toBe(401);
    }
    expect(cluster.jwksFetches - fetchesBefore).toBeLessThanOrEqual(1);
  });

  it('inline keys: an issuer Keygate cannot reach is trusted with its JWKS pasted in', async () => {
    const offline = await startTestIssuer();
    const jwks = await offline.jwks();
    await offline.close();
    await trust({ issuer: offline.issuer, name: 'air-gapped cluster', jwks });
    const clientId = await createFederatedKeypair({ issuer: offline.issuer, subject: SERVICE_ACCOUNT });
    expect((await tokenWith(clientId, await offline.token({ sub: SERVICE_ACCOUNT, aud: kg.issuer }))).status).toBe(200);
  });

  it('answers 503 when the trusted issuer cannot be reached for its keys, and no secret or guess helps', async () => {
    const gone = await startTestIssuer();
    await trust({ issuer: gone.issuer, name: 'gone' });
    const token = await gone.token({ sub: SERVICE_ACCOUNT, aud: kg.issuer });
    await gone.close();
    const clientId = await createFederatedKeypair({ issuer: gone.issuer, subject: SERVICE_ACCOUNT });
    const response = await tokenWith(clientId, token);
    expect(response.status).toBe(503);
    expect(response.body.error).toBe('temporarily_unavailable');
    expect(await usageReasons(clientId)).toEqual(['issuer_unreachable']);
    const withSecret = await kg.http.post('/token').type('form').auth(clientId, 'kgs_0000000000000000000000000000000000000000000000000').send({ grant_type: 'client_credentials' });
    expect(withSecret.status).toBe(401);
  });

  it('answers 503 too when the issuer answers its key set URL with an error, not 401 for the client', async () => {
    const broken = await startTestIssuer();
    try {
      // The test issuer answers 404 here, as an issuer that moved or is failing would.
      await trust({ issuer: broken.issuer, name: 'broken', jwksUri: `${broken.issuer}/moved/jwks` });
      const clientId = await createFederatedKeypair({ issuer: broken.issuer, subject: SERVICE_ACCOUNT });
      const response = await tokenWith(clientId, await broken.token({ sub: SERVICE_ACCOUNT, aud: kg.issuer }));
      expect(response.status).toBe(503);
      expect(response.body.error).toBe('temporarily_unavailable');
      expect(await usageReasons(clientId)).toEqual(['issuer_unreachable']);
    } finally {
      await broken.close();
    }
  });
});
