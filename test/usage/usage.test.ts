import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSecret } from '../../src/keypairs/secret.js';
import { UNCREDENTIALED_LOG_PER_MINUTE } from '../../src/usage/recorder.js';
import { createUser, type TestUser } from '../support/admin.js';
import { createKeypair, createTenant, requestToken, startTestKeygate, type Tenant, type TestKeygate } from '../support/keygate.js';

let kg: TestKeygate;
let tenant: Tenant;
let admin: TestUser;

beforeAll(async () => {
  kg = await startTestKeygate();
  tenant = await createTenant(kg.keygate);
  admin = await createUser(kg.keygate, { environments: [{ environmentId: tenant.environmentId, accountId: tenant.accountId }] });
});

afterAll(() => kg.close());

const usageOf = (clientId: string, who: TestUser = admin) => kg.http.get(`/admin/v1/keypairs/${clientId}/usage`).set('Authorization', who.bearer);

describe('usage log and GET /keypairs/:clientId/usage', () => {
  it('answers "is it used, from where, and what fails" after a scripted mix of requests', async () => {
    const { keypair, clientSecret } = await createKeypair(kg.keygate, { owner: { environmentId: tenant.environmentId } });
    const good = { clientId: keypair.clientId, clientSecret };
    const wrong = { clientId: keypair.clientId, clientSecret: generateSecret().secret };
    const defaultResource = kg.keygate.catalog.defaultServer!.identifier;

    for (let i = 0; i < 3; i += 1) expect((await requestToken(kg.http, good).set('User-Agent', 'billing-sync/1.0')).status).toBe(200);
    expect((await requestToken(kg.http, good, { scope: 'read' })).status).toBe(200);
    for (let i = 0; i < 2; i += 1) expect((await requestToken(kg.http, wrong).set('User-Agent', 'scanner')).status).toBe(401);
    expect((await requestToken(kg.http, good, { scope: 'admin' })).status).toBe(400);
    expect((await requestToken(kg.http, good, { resource: 'https://unknown.example/' })).status).toBe(400);
    // A client_id Keygate does not know is not any keypair's usage.
    expect((await requestToken(kg.http, { clientId: 'kp_doesnotexist', clientSecret })).status).toBe(401);

    const response = await usageOf(keypair.clientId);
    expect(response.status).toBe(200);
    const usage = response.body;
    expect(usage.last24h).toEqual({ issued: 4, refused: 4 });
    expect(usage.last7d).toEqual({ issued: 4, refused: 4 });
    expect(usage.refusalsByReason).toEqual([
      { reason: 'secret_mismatch', last24h: 2, last7d: 2 },
      { reason: 'invalid_scope', last24h: 1, last7d: 1 },
      { reason: 'invalid_target', last24h: 1, last7d: 1 },
    ]);
    expect(usage.topResources).toEqual([
      { resource: defaultResource, last24h: { issued: 4, refused: 3 }, last7d: { issued: 4, refused: 3 } },
      { resource: 'other', last24h: { issued: 0, refused: 1 }, last7d: { issued: 0, refused: 1 } },
    ]);
    // Issued without a scope asked: the scopes granted (read write) count as used.
    expect(usage.topScopes).toEqual([
      { scope: 'read', last24h: { issued: 4, refused: 0 }, last7d: { issued: 4, refused: 0 } },
      { scope: 'write', last24h: { issued: 3, refused: 0 }, last7d: { issued: 3, refused: 0 } },
      { scope: 'other', last24h: { issued: 0, refused: 1 }, last7d: { issued: 0, refused: 1 } },
    ]);
    expect(usage.hourly).toHaveLength(24);
    expect(usage.hourly.at(-1)).toMatchObject({ issued: 4, refused: 4 });
    expect(usage.hourly.slice(0, 23).every((hour: { issued: number; refused: number }) => hour.issued === 0 && hour.refused === 0)).toBe(true);

    expect(usage.recentRequests).toHaveLength(8);
    expect(usage.recentRequests.map((request: { reason: string | null }) => request.reason)).toEqual(
      expect.arrayContaining(['invalid_target', 'invalid_scope', 'secret_mismatch', 'secret_mismatch', null, null, null, null]),
    );
    const guess = usage.recentRequests.find((request: { reason: string | null }) => request.reason === 'secret_mismatch');
    expect(guess).toMatchObject({ outcome: 'refused', error: 'invalid_client', ip: '127.0.0.1', userAgent: 'scanner' });
    const issued = usage.recentRequests.filter((request: { outcome: string }) => request.outcome === 'issued');
    expect(issued.map((request: { userAgent: string }) => request.userAgent)).toContain('billing-sync/1.0');
    // Nothing a client sent as a secret is kept.
    expect(JSON.stringify(usage)).not.toContain(clientSecret);
    expect(JSON.stringify(usage)).not.toContain(wrong.clientSecret);

    // Two days on, the 24-hour window is empty of them and the 7-day one still holds them.
    kg.clock.advance(2 * 86_400);
    expect((await requestToken(kg.http, good)).status).toBe(200);
    const later = (await usageOf(keypair.clientId)).body;
    expect(later.last24h).toEqual({ issued: 1, refused: 0 });
    expect(later.last7d).toEqual({ issued: 5, refused: 4 });
    expect(later.recentRequests[0]).toMatchObject({ outcome: 'issued', at: kg.clock.now().toISOString() });
  });

  it('wrong-secret requests from anyone count in the totals, but reach the log only UNCREDENTIALED_LOG_PER_MINUTE a minute', async () => {
    const { keypair, clientSecret } = await createKeypair(kg.keygate, { owner: { environmentId: tenant.environmentId } });
    for (let i = 0; i < 5; i += 1) expect((await requestToken(kg.http, { clientId: keypair.clientId, clientSecret }).set('User-Agent', 'holder/1')).status).toBe(200);
    // The client_id is in every token's sub: anyone may send it with a made-up secret.
    for (let i = 0; i < 130; i += 1) expect((await requestToken(kg.http, { clientId: keypair.clientId, clientSecret: generateSecret().secret })).status).toBe(401);

    const usage = (await usageOf(keypair.clientId)).body;
    expect(usage.last24h).toEqual({ issued: 5, refused: 130 });
    expect(usage.refusalsByReason).toEqual([{ reason: 'secret_mismatch', last24h: 130, last7d: 130 }]);
    // The holder's own requests are still among the last 20.
    expect(usage.recentRequests).toHaveLength(5 + UNCREDENTIALED_LOG_PER_MINUTE);
    expect(usage.recentRequests.filter((request: { userAgent: string | null }) => request.userAgent === 'holder/1')).toHaveLength(5);
    expect(await kg.keygate.db.knex('usage_events').where({ client_id: keypair.clientId }).count()).toEqual([{ count: 5 + UNCREDENTIALED_LOG_PER_MINUTE }]);

    // The next minute logs its own first ones again.
    kg.clock.advance(60);
    for (let i = 0; i < 2; i += 1) expect((await requestToken(kg.http, { clientId: keypair.clientId, clientSecret: generateSecret().secret })).status).toBe(401);
    const later = (await usageOf(keypair.clientId)).body;
    expect(later.last24h).toEqual({ issued: 5, refused: 132 });
    expect(later.recentRequests).toHaveLength(5 + UNCREDENTIALED_LOG_PER_MINUTE + 2);
  });

  it('records a disabled or expired keypair\'s requests with the reason, and is a 404 out of reach', async () => {
    const { keypair, clientSecret } = await createKeypair(kg.keygate, { owner: { environmentId: tenant.environmentId }, expiresAt: new Date(kg.clock.now().getTime() + 3600_000) });
    await kg.keygate.keypairs.disableKeypair({ type: 'user', id: admin.id }, keypair.clientId, 'paused');
    expect((await requestToken(kg.http, { clientId: keypair.clientId, clientSecret })).status).toBe(401);
    await kg.keygate.keypairs.enableKeypair({ type: 'user', id: admin.id }, keypair.clientId);
    kg.clock.advance(3601);
    expect((await requestToken(kg.http, { clientId: keypair.clientId, clientSecret })).status).toBe(401);
    const usage = (await usageOf(keypair.clientId)).body;
    expect(usage.refusalsByReason.map((entry: { reason: string }) => entry.reason).sort()).toEqual(['keypair_disabled', 'keypair_expired']);

    const otherTenant = await createTenant(kg.keygate);
    const outsider = await createUser(kg.keygate, { environments: [{ environmentId: otherTenant.environmentId, accountId: otherTenant.accountId }] });
    const refused = await usageOf(keypair.clientId, outsider);
    expect(refused.status).toBe(404);
    expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
  });

  it('keeps what a client sends that PostgreSQL text cannot hold from failing the batch', async () => {
    const { keypair, clientSecret } = await createKeypair(kg.keygate, { owner: { environmentId: tenant.environmentId } });
    const response = await kg.http.post('/token').auth(keypair.clientId, clientSecret).type('form').send('grant_type=client_credentials&scope=read%00admin');
    expect(response.status).toBe(400);
    const usage = (await usageOf(keypair.clientId)).body;
    expect(usage.recentRequests[0]).toMatchObject({ outcome: 'refused', reason: 'invalid_scope', scope: 'read\uFFFDadmin' });
    expect(kg.keygate.usage!.pendingCount).toBe(0);
  });

  it('writes in batches: requests wait in memory until a flush, then land in one write', async () => {
    const { keypair, clientSecret } = await createKeypair(kg.keygate, { owner: { environmentId: tenant.environmentId } });
    const usage = kg.keygate.usage!;
    await usage.flush();
    for (let i = 0; i < 5; i += 1) await requestToken(kg.http, { clientId: keypair.clientId, clientSecret });
    expect(usage.pendingCount).toBe(5);
    expect(await kg.keygate.db.knex('usage_events').where({ client_id: keypair.clientId }).count()).toEqual([{ count: 0 }]);
    await usage.flush();
    expect(usage.pendingCount).toBe(0);
    expect(await kg.keygate.db.knex('usage_events').where({ client_id: keypair.clientId }).count()).toEqual([{ count: 5 }]);
    // The hourly rollups (the totals) are written with the same flush, not a minute later.
    const rollups = await kg.keygate.db.knex('usage_hourly').where({ client_id: keypair.clientId }).orderBy('dimension');
    expect(rollups.map((row) => [row.dimension, Number(row.issued), Number(row.refused)])).toEqual([
      ['resource', 5, 0],
      ['scope', 5, 0],
      ['scope', 5, 0],
    ]);
  });
});
