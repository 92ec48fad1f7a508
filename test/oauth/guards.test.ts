import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSecret } from '../../src/keypairs/secret.js';
import { createUser } from '../support/admin.js';
import { createKeypair, createTenant, requestToken, startTestKeygate, type Tenant, type TestKeygate } from '../support/keygate.js';

let direct: TestKeygate;
let proxied: TestKeygate;
let tenant: Tenant;

beforeAll(async () => {
  direct = await startTestKeygate();
  proxied = await startTestKeygate({ TRUST_PROXY: 'true' });
  tenant = await createTenant(direct.keygate);
});

afterAll(async () => {
  await direct.close();
  await proxied.close();
});

const newKeypair = (kg: TestKeygate, input: { rateLimitPerMinute?: number; allowedIps?: string[] } = {}) =>
  createKeypair(kg.keygate, { owner: { environmentId: tenant.environmentId }, ...input });

async function reasonsOf(kg: TestKeygate, clientId: string): Promise<Array<string | null>> {
  await kg.keygate.usage!.flush();
  return kg.keygate.db.knex('usage_events').where({ client_id: clientId }).orderBy('at').pluck('reason');
}

describe('per-keypair rate limit', () => {
  it('answers 429 with Retry-After past the limit, and admits again once the window has moved on', async () => {
    const kg = direct;
    const { keypair, clientSecret } = await newKeypair(kg, { rateLimitPerMinute: 60 });
    const credentials = { clientId: keypair.clientId, clientSecret };
    for (let i = 0; i < 60; i += 1) expect((await requestToken(kg.http, credentials)).status).toBe(200);

    const limited = await requestToken(kg.http, credentials);
    expect(limited.status).toBe(429);
    expect(limited.headers['content-type']).toMatch(/^application\/json/);
    expect(limited.body).toEqual({ error: 'rate_limited', error_description: 'this keypair may request 60 tokens per minute; retry after the time in Retry-After' });
    const retryAfter = Number(limited.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(61);

    // Guesses do not count against the holder's limit, nor are they told about it.
    expect((await requestToken(kg.http, { clientId: keypair.clientId, clientSecret: generateSecret().secret })).status).toBe(401);

    kg.clock.advance(retryAfter - 1);
    expect((await requestToken(kg.http, credentials)).status).toBe(429);
    kg.clock.advance(1);
    expect((await requestToken(kg.http, credentials)).status).toBe(200);

    const reasons = await reasonsOf(kg, keypair.clientId);
    expect(reasons.filter((reason) => reason === 'rate_limited')).toHaveLength(2);
    expect(reasons.filter((reason) => reason === null)).toHaveLength(61);
  });

  it('applies RATE_LIMIT_PER_MINUTE to keypairs that set none, and a keypair\'s own limit over it', async () => {
    const kg = await startTestKeygate({ RATE_LIMIT_PER_MINUTE: '3' });
    try {
      const byDefault = await newKeypair(kg);
      const own = await newKeypair(kg, { rateLimitPerMinute: 60 });
      for (let i = 0; i < 3; i += 1) expect((await requestToken(kg.http, { clientId: byDefault.keypair.clientId, clientSecret: byDefault.clientSecret })).status).toBe(200);
      expect((await requestToken(kg.http, { clientId: byDefault.keypair.clientId, clientSecret: byDefault.clientSecret })).status).toBe(429);
      for (let i = 0; i < 5; i += 1) expect((await requestToken(kg.http, { clientId: own.keypair.clientId, clientSecret: own.clientSecret })).status).toBe(200);
    } finally {
      await kg.close();
    }
  });
});

describe('rate limit across processes', () => {
  it('holds for two instances on one database: each adds its count and reads the total back', async () => {
    // Two Keygates on one database stand for two processes: separate limiters, shared counts.
    const first = direct;
    const second = proxied;
    // Both clocks to the same second, just past a minute's start, so both count in one window.
    const target = Math.ceil(Math.max(first.clock.now().getTime(), second.clock.now().getTime()) / 60_000) * 60_000 + 60_000 + 1000;
    first.clock.advance((target - first.clock.now().getTime()) / 1000);
    second.clock.advance((target - second.clock.now().getTime()) / 1000);

    const { keypair, clientSecret } = await newKeypair(first, { rateLimitPerMinute: 60 });
    const credentials = { clientId: keypair.clientId, clientSecret };
    const statuses: number[] = [];
    for (let i = 0; i < 40; i += 1) statuses.push((await requestToken(first.http, credentials)).status);
    await first.keygate.rateLimiter.sync(Date.now());

    // The second process learns of the first's 40 on its first sync after its own first request.
    statuses.push((await requestToken(second.http, credentials)).status);
    await second.keygate.rateLimiter.sync(Date.now());
    for (let i = 0; i < 30; i += 1) statuses.push((await requestToken(second.http, credentials)).status);
    expect(statuses.filter((status) => status === 200)).toHaveLength(60);
    expect(statuses.slice(-11).every((status) => status === 429)).toBe(true);

    // The first has not heard of the second's 20 yet: it admits one more (the tolerance:
    // what a process admits before its next sync), then its sync brings the total back.
    await second.keygate.rateLimiter.sync(Date.now());
    statuses.length = 0;
    statuses.push((await requestToken(first.http, credentials)).status);
    await first.keygate.rateLimiter.sync(Date.now());
    statuses.push((await requestToken(first.http, credentials)).status);
    expect(statuses).toEqual([200, 429]);
  });
});

describe('IP allowlist', () => {
  const expectInvalidClient = (response: { status: number; body: unknown }) => {
    expect(response.status).toBe(401);
    expect(response.body).toEqual({ error: 'invalid_client', error_description: 'client authentication failed' });
  };

  it('without TRUST_PROXY: the socket address counts, and X-Forwarded-For is ignored', async () => {
    const kg = direct;
    const loopback = await newKeypair(kg, { allowedIps: ['127.0.0.1'] });
    const loopbackRange = await newKeypair(kg, { allowedIps: ['10.0.0.0/8', '127.0.0.0/8'] });
    const elsewhere = await newKeypair(kg, { allowedIps: ['10.0.0.0/8', '2001:db8::/32'] });

    expect((await requestToken(kg.http, { clientId: loopback.keypair.clientId, clientSecret: loopback.clientSecret })).status).toBe(200);
    expect((await requestToken(kg.http, { clientId: loopbackRange.keypair.clientId, clientSecret: loopbackRange.clientSecret })).status).toBe(200);
    expectInvalidClient(await requestToken(kg.http, { clientId: elsewhere.keypair.clientId, clientSecret: elsewhere.clientSecret }));
    expectInvalidClient(await requestToken(kg.http, { clientId: elsewhere.keypair.clientId, clientSecret: elsewhere.clientSecret }).set('X-Forwarded-For', '10.1.2.3'));
    expect(await reasonsOf(kg, elsewhere.keypair.clientId)).toEqual(['ip_not_allowed', 'ip_not_allowed']);
  });

  it('with TRUST_PROXY: the address the proxy appended counts, IPv4 and IPv6, exact and CIDR', async () => {
    const kg = proxied;
    const v4 = await newKeypair(kg, { allowedIps: ['10.0.0.0/8', '192.0.2.7'] });
    const v6 = await newKeypair(kg, { allowedIps: ['2001:db8::/32', '2001:db9::1'] });
    const as = (keypair: { keypair: { clientId: string }; clientSecret: string }, forwardedFor: string) =>
      requestToken(kg.http, { clientId: keypair.keypair.clientId, clientSecret: keypair.clientSecret }).set('X-Forwarded-For', forwardedFor);

    expect((await as(v4, '10.1.2.3')).status).toBe(200);
    expect((await as(v4, '192.0.2.7')).status).toBe(200);
    // What the client wrote before the proxy's entry proves nothing, either way.
    expect((await as(v4, '198.51.100.9, 10.1.2.3')).status).toBe(200);
    expectInvalidClient(await as(v4, '10.1.2.3, 198.51.100.9'));
    expectInvalidClient(await as(v4, '192.0.2.8'));

    expect((await as(v6, '2001:db8::42')).status).toBe(200);
    expect((await as(v6, '2001:DB9:0::1')).status).toBe(200);
    expectInvalidClient(await as(v6, '2001:db9::2'));
    expectInvalidClient(await as(v6, '10.1.2.3'));

    await kg.keygate.usage!.flush();
    const usage = await kg.keygate.db.knex('usage_events').where({ client_id: v6.keypair.clientId }).orderBy('at').select('ip', 'reason');
    expect(usage.map((row) => row.reason)).toEqual([null, null, 'ip_not_allowed', 'ip_not_allowed']);
    expect(usage.map((row) => row.ip)).toEqual(['2001:db8::42', '2001:DB9:0::1', '2001:db9::2', '10.1.2.3']);
  });

  it('a wrong secret from outside the list is a guess, not an allowlist refusal', async () => {
    const kg = direct;
    const elsewhere = await newKeypair(kg, { allowedIps: ['10.0.0.0/8'] });
    expectInvalidClient(await requestToken(kg.http, { clientId: elsewhere.keypair.clientId, clientSecret: generateSecret().secret }));
    expect(await reasonsOf(kg, elsewhere.keypair.clientId)).toEqual(['secret_mismatch']);
  });

  it('matches IPv4 clients against IPv4 entries only: ::/0 admits every IPv6 client and no IPv4 one', async () => {
    const anyV6 = await newKeypair(proxied, { allowedIps: ['::/0'] });
    const as = (forwardedFor: string) => requestToken(proxied.http, { clientId: anyV6.keypair.clientId, clientSecret: anyV6.clientSecret }).set('X-Forwarded-For', forwardedFor);
    expect((await as('2001:db8::42')).status).toBe(200);
    expect((await as('::1')).status).toBe(200);
    expectInvalidClient(await as('203.0.113.9'));
    // A dual-stack socket's IPv4 peer, as the proxy may write it, is an IPv4 client too.
    expectInvalidClient(await as('::ffff:203.0.113.9'));
    // The socket itself: the test client connects over IPv4 loopback.
    const direct6 = await newKeypair(direct, { allowedIps: ['::/0'] });
    expectInvalidClient(await requestToken(direct.http, { clientId: direct6.keypair.clientId, clientSecret: direct6.clientSecret }));
    expect(await reasonsOf(proxied, anyV6.keypair.clientId)).toEqual([null, null, 'ip_not_allowed', 'ip_not_allowed']);
  });

  it('stores an IPv4-mapped entry as the IPv4 entry it means, and refuses a zone id with a 400', async () => {
    const { keypair, clientSecret } = await newKeypair(proxied);
    const operator = await createUser(proxied.keygate, { operator: true });
    const patch = (allowedIps: string[]) => proxied.http.patch(`/admin/v1/keypairs/${keypair.clientId}`).set('Authorization', operator.bearer).send({ allowedIps });
    for (const zoned of [['fe80::1%eth0'], ['fe80::%25eth0/64']]) {
      const refused = await patch(zoned);
      expect(refused.status).toBe(400);
      expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(refused.body.errors).toEqual([{ field: 'allowedIps', message: expect.any(String) }]);
    }
    const accepted = await patch(['::ffff:10.0.0.0/104', '::ffff:192.0.2.7']);
    expect(accepted.status).toBe(200);
    expect(accepted.body.allowedIps).toEqual(['10.0.0.0/8', '192.0.2.7']);
    const as = (forwardedFor: string) => requestToken(proxied.http, { clientId: keypair.clientId, clientSecret }).set('X-Forwarded-For', forwardedFor);
    expect((await as('10.1.2.3')).status).toBe(200);
    expect((await as('::ffff:192.0.2.7')).status).toBe(200);
    expectInvalidClient(await as('2001:db8::1'));
  });

  it('refuses malformed entries and more than 100 through the admin API, changing nothing', async () => {
    const { keypair } = await newKeypair(direct);
    const operator = await createUser(direct.keygate, { operator: true });
    const patch = (body: Record<string, unknown>) => direct.http.patch(`/admin/v1/keypairs/${keypair.clientId}`).set('Authorization', operator.bearer).send(body);
    for (const allowedIps of [['10.0.0.1/8'], ['300.1.1.1'], ['10.0.0.0/33'], ['2001:db8::/129'], ['example.com'], ['10.0.0.1', '10.0.0.1'], Array.from({ length: 101 }, (_, i) => `10.0.${i}.1`)]) {
      const response = await patch({ allowedIps });
      expect(response.status, JSON.stringify(allowedIps).slice(0, 40)).toBe(400);
      expect(response.body.errors).toEqual([{ field: 'allowedIps', message: expect.any(String) }]);
    }
    const accepted = await patch({ allowedIps: ['2001:DB8:0:0::/32', ' 10.0.0.0/8 '], rateLimitPerMinute: 1000, autoDisable: false });
    expect(accepted.status).toBe(200);
    expect(accepted.body).toMatchObject({ allowedIps: ['2001:db8::/32', '10.0.0.0/8'], rateLimitPerMinute: 1000, autoDisable: false, version: 2 });
    expect((await patch({ rateLimitPerMinute: 1001 })).status).toBe(400);
    expect((await patch({ rateLimitPerMinute: null, allowedIps: [], autoDisable: null })).body).toMatchObject({ allowedIps: [], rateLimitPerMinute: null, autoDisable: null, version: 3 });
  });
});
