/** The benchmark's admin-API cases, and the verifier against plain jose. */
import { createLocalJWKSet, jwtVerify } from 'jose';
import { createVerifier } from '../src/verifier/index.js';
import type { Server } from './server.js';

export interface AdminApi {
  readonly url: string;
  readonly headers: Record<string, string>;
}

interface CreatedKeypair {
  readonly clientId: string;
  readonly clientSecret: string;
}

interface Row {
  case: string;
  rps?: number;
  p50?: number;
  p99?: number;
  errors?: number;
}

export function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! * 100) / 100;
}

async function createOne(api: AdminApi, environmentId: string, name: string, extra: Record<string, unknown>): Promise<CreatedKeypair> {
  const response = await fetch(`${api.url}/admin/v1/environments/${environmentId}/keypairs`, { method: 'POST', headers: api.headers, body: JSON.stringify({ name, scopes: ['read'], ...extra }) });
  if (response.status !== 201) throw new Error(`create answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as CreatedKeypair;
}

export async function createEnvironmentOverApi(api: AdminApi, accountId: string, name: string): Promise<string> {
  const response = await fetch(`${api.url}/admin/v1/accounts/${accountId}/environments`, { method: 'POST', headers: api.headers, body: JSON.stringify({ name }) });
  if (response.status !== 201) throw new Error(`environment create answered ${response.status}: ${await response.text()}`);
  return ((await response.json()) as { id: string }).id;
}

/** `count` keypairs created through POST .../keypairs, `concurrency` at a time, with their create times. */
export async function createKeypairsOverApi(api: AdminApi, environmentId: string, count: number, concurrency: number, extra: Record<string, unknown> = {}) {
  const keypairs: CreatedKeypair[] = [];
  const times: number[] = [];
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const name = `cold-${(next += 1)}-${Date.now()}`;
        const before = performance.now();
        keypairs.push(await createOne(api, environmentId, name, extra));
        times.push(performance.now() - before);
      }
    }),
  );
  const perSecond = Math.round(keypairs.length / ((performance.now() - started) / 1000));
  return { keypairs, p50: percentile(times, 50), p99: percentile(times, 99), perSecond };
}

/** Admin create (sequential) and list (pages of 100 of 10k) latencies. */
export async function adminCases(api: AdminApi, seeded: { environmentId: string; listEnvironmentId: string }, rows: Row[]): Promise<void> {
  const created = await createKeypairsOverApi(api, seeded.environmentId, 200, 1);
  rows.push({ case: 'admin: create keypair (200 sequential)', p50: created.p50, p99: created.p99, errors: 0 });
  const listTimes: number[] = [];
  let cursor: string | null = null;
  for (let i = 0; i < 200; i += 1) {
    const started = performance.now();
    const response = await fetch(`${api.url}/admin/v1/environments/${seeded.listEnvironmentId}/keypairs?limit=100${cursor ? `&cursor=${cursor}` : ''}`, { headers: api.headers });
    if (response.status !== 200) throw new Error(`list answered ${response.status}`);
    const body = (await response.json()) as { nextCursor: string | null };
    listTimes.push(performance.now() - started);
    cursor = body.nextCursor;
  }
  rows.push({ case: 'admin: list page, limit 100 of 10k', p50: percentile(listTimes, 50), p99: percentile(listTimes, 99), errors: 0 });
}

/** Verifications per second on this core: keygate/verifier vs jwtVerify with a local key set. */
export async function verifierCase(server: Server, header: string, rows: Row[], target: (name: string, value: string, pass: boolean) => void): Promise<void> {
  const response = await fetch(`${server.url}/token`, { method: 'POST', headers: { authorization: header, 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials' });
  const { access_token: token } = (await response.json()) as { access_token: string };
  const issuer = server.url;
  const audience = `${issuer}/api`;
  const jwks = (await (await fetch(`${server.url}/jwks`)).json()) as Parameters<typeof createLocalJWKSet>[0];
  const local = createLocalJWKSet(jwks);
  const verifier = createVerifier({ issuer, audience, jwksUri: `${server.url}/jwks` });
  const rate = async (verify: () => Promise<unknown>) => {
    for (let i = 0; i < 500; i += 1) await verify();
    const started = performance.now();
    let count = 0;
    while (performance.now() - started < 3000) {
      await verify();
      count += 1;
    }
    return Math.round(count / ((performance.now() - started) / 1000));
  };
  const jose = await rate(() => jwtVerify(token, local, { issuer, audience, typ: 'at+jwt' }));
  const ours = await rate(() => verifier.verify(token, { scopes: ['read'] }));
  rows.push({ case: 'verifier: plain jose jwtVerify (verifications/s)', rps: jose });
  rows.push({ case: 'verifier: keygate/verifier (verifications/s)', rps: ours });
  target('verifier >= 0.9x plain jose', `${(ours / jose).toFixed(2)}x`, ours >= 0.9 * jose);
}
