import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/shared/log.js';
import { createUser } from '../support/admin.js';
import { createKeypair, createTenant, requestToken, startTestKeygate, type TestKeygate } from '../support/keygate.js';

let kg: TestKeygate;
const lines: string[] = [];

beforeAll(async () => {
  const capture = { write: (line: string) => void lines.push(line) };
  kg = await startTestKeygate({ METRICS_TOKEN: 'scrape-me' }, { log: createLogger('debug', capture) });
});
afterAll(() => kg.close());

describe('health', () => {
  it('GET /healthz says the process is up; GET /readyz checks the database and keys', async () => {
    const health = await kg.http.get('/healthz');
    expect(health.status).toBe(200);
    expect(health.body).toEqual({ status: 'ok' });
    const ready = await kg.http.get('/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: 'ready', checks: { database: 'ok', keys: 'ok', changeFeed: 'up' } });
  });
});

describe('metrics', () => {
  it('counts issued and refused tokens by resource and error, behind METRICS_TOKEN', async () => {
    const tenant = await createTenant(kg.keygate);
    const { keypair, clientSecret } = await createKeypair(kg.keygate, { owner: { environmentId: tenant.environmentId } });
    const resource = kg.keygate.catalog.defaultServer!.identifier;
    expect((await requestToken(kg.http, { clientId: keypair.clientId, clientSecret })).status).toBe(200);
    expect((await requestToken(kg.http, { clientId: keypair.clientId, clientSecret }, { scope: 'nope' })).status).toBe(400);
    expect((await requestToken(kg.http, { clientId: keypair.clientId, clientSecret }, { resource: 'https://attacker.example/x' })).status).toBe(400);

    expect((await kg.http.get('/metrics')).status).toBe(401);
    expect((await kg.http.get('/metrics').set('Authorization', 'Bearer wrong')).status).toBe(401);
    const scraped = await kg.http.get('/metrics').set('Authorization', 'Bearer scrape-me');
    expect(scraped.status).toBe(200);
    expect(scraped.headers['content-type']).toMatch(/^text\/plain/);
    const text = scraped.text;
    expect(text).toContain(`keygate_tokens_issued_total{resource="${resource}"} 1`);
    expect(text).toContain(`keygate_tokens_refused_total{error="invalid_scope",resource="${resource}"} 1`);
    // A resource the client made up is never a label value.
    expect(text).toContain('keygate_tokens_refused_total{error="invalid_target",resource="unknown"} 1');
    expect(text).not.toContain('attacker.example');
    expect(text).toMatch(/keygate_token_request_duration_seconds_count 3/);
    expect(text).toMatch(/keygate_db_pool_connections\{state="used"\} \d+/);
  });

  it('counts admin requests by route and status', async () => {
    const operator = await createUser(kg.keygate, { operator: true });
    await kg.http.get('/admin/v1/me').set('Authorization', operator.bearer);
    const text = (await kg.http.get('/metrics').set('Authorization', 'Bearer scrape-me')).text;
    expect(text).toContain('keygate_admin_requests_total{method="GET",route="/admin/v1/me",status="200"} 1');
  });
});

describe('logs', () => {
  it('carry the request id, echoed in X-Request-Id, and never a secret or an Authorization header', async () => {
    const operator = await createUser(kg.keygate, { operator: true });
    const tenant = await createTenant(kg.keygate);
    const created = await kg.http
      .post(`/admin/v1/environments/${tenant.environmentId}/keypairs`)
      .set('Authorization', operator.bearer)
      .set('X-Request-Id', 'trace-123')
      .send({ name: 'logged', scopes: ['read'] });
    expect(created.status).toBe(201);
    expect(created.headers['x-request-id']).toBe('trace-123');
    const secret = created.body.clientSecret as string;
    const basic = Buffer.from(`${created.body.clientId}:${secret}`).toString('base64');

    expect((await requestToken(kg.http, { clientId: created.body.clientId, clientSecret: secret })).status).toBe(200);
    expect((await requestToken(kg.http, { clientId: created.body.clientId, clientSecret: secret }, {}, 'post')).status).toBe(200);
    const rotated = await kg.http.post(`/admin/v1/keypairs/${created.body.clientId}/rotate`).set('Authorization', operator.bearer).send({});
    const generated = await kg.http.get('/healthz');
    expect(generated.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);

    const log = lines.join('');
    expect(log).toContain('"requestId":"trace-123"');
    for (const forbidden of [secret, rotated.body.clientSecret as string, basic, operator.token]) {
      expect(log).not.toContain(forbidden);
    }
    const requestLines = lines.map((line) => JSON.parse(line) as { msg: string; requestId?: string }).filter((line) => line.msg === 'request');
    expect(requestLines.length).toBeGreaterThan(4);
    expect(requestLines.every((line) => typeof line.requestId === 'string')).toBe(true);
  });
});
