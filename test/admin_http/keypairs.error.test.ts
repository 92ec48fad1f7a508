import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser, type TestUser } from '../support/admin.js';
import { createTenant, requestToken, startTestKeygate, type Tenant, type TestKeygate } from '../support/keygate.js';

let kg: TestKeygate;
let tenant: Tenant;
let admin: TestUser;

beforeAll(async () => {
  kg = await startTestKeygate({ MAX_ACTIVE_KEYPAIRS: '3' });
  tenant = await createTenant(kg.keygate);
  admin = await createUser(kg.keygate, { accounts: [tenant.accountId] });
});
afterAll(() => kg.close());

const post = (path: string, body: unknown) => kg.http.post(`/admin/v1${path}`).set('Authorization', admin.bearer).send(body as object);
const patch = (path: string, body: unknown) => kg.http.patch(`/admin/v1${path}`).set('Authorization', admin.bearer).send(body as object);
const get = (path: string) => kg.http.get(`/admin/v1${path}`).set('Authorization', admin.bearer);

async function keypairCount(where: Record<string, unknown> = {}): Promise<number> {
  const [row] = await kg.keygate.db.knex('keypairs').where({ account_id: tenant.accountId, ...where }).count<{ count: number }[]>({ count: '*' });
  return Number(row!.count);
}

function expectProblem(response: { status: number; headers: Record<string, string>; body: Record<string, unknown> }, status: number, code: string) {
  expect(response.status).toBe(status);
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(response.body).toMatchObject({ type: `urn:keygate:problem:${code}`, status, code, title: expect.any(String), detail: expect.any(String) });
}

describe('validation: every bad field at once, nothing written', () => {
  it('lists each bad field of a create', async () => {
    const before = await keypairCount();
    const response = await post(`/environments/${tenant.environmentId}/keypairs`, {
      name: 'x'.repeat(101),
      comment: 'c'.repeat(1001),
      scopes: ['read', 'no-such-scope'],
      expiresIn: '2w',
      color: 'blue',
    });
    expectProblem(response, 400, 'validation_failed');
    expect(response.body.errors).toEqual([
      { field: 'name', message: 'must be 1 to 100 characters' },
      { field: 'comment', message: 'must be at most 1000 characters' },
      { field: 'expiresIn', message: expect.stringContaining('must be 1d, 7d, 30d, 90d') },
      { field: 'color', message: 'is not a known field' },
      { field: 'scopes', message: expect.stringMatching(/^not defined by the default resource server \(.+\): no-such-scope$/) },
    ]);
    expect(await keypairCount()).toBe(before);
  });

  it.each([
    [{}, [{ field: 'name', message: 'is required' }]],
    [{ name: '   ', scopes: [] }, [{ field: 'name', message: 'must be 1 to 100 characters' }]],
    [{ name: 'k', scopes: 'read' }, [{ field: 'scopes', message: 'must be an array' }]],
    [{ name: 'k', scopes: ['read', 'read'] }, [{ field: 'scopes', message: 'must not repeat items' }]],
    [{ name: 'k', scopes: ['has space'] }, [{ field: 'scopes', message: expect.stringContaining('must be a scope token') }]],
    [{ name: 'k', scopes: [], expiresAt: '2020-01-01T00:00:00Z' }, [{ field: 'expiresAt', message: 'must be in the future' }]],
    [{ name: 'k', scopes: [], expiresAt: 'tomorrow' }, [{ field: 'expiresAt', message: expect.stringContaining('ISO 8601') }]],
    [{ name: 'k', scopes: [], expiresAt: '2099-01-01T00:00:00Z', expiresIn: '1d' }, [{ field: 'expiresIn', message: 'give expiresAt or expiresIn, not both' }]],
    [{ name: 'k', scopes: [], expiresIn: 59 }, [{ field: 'expiresIn', message: expect.stringContaining('seconds from 60') }]],
    [{ name: 42, scopes: [] }, [{ field: 'name', message: 'must be a string' }]],
  ])('create %j', async (body, errors) => {
    const before = await keypairCount();
    const response = await post(`/environments/${tenant.environmentId}/keypairs`, body);
    expectProblem(response, 400, 'validation_failed');
    expect(response.body.errors).toEqual(errors);
    expect(await keypairCount()).toBe(before);
  });

  it('PATCH and rotate check their fields too', async () => {
    const created = (await post(`/environments/${tenant.environmentId}/keypairs`, { name: 'target', scopes: ['read'] })).body;
    const badPatch = await patch(`/keypairs/${created.clientId}`, { enabled: 'no', scopes: ['ghost'], disabledReason: 'x' });
    expectProblem(badPatch, 400, 'validation_failed');
    expect(badPatch.body.errors).toEqual([
      { field: 'enabled', message: 'must be true or false' },
      { field: 'scopes', message: expect.stringMatching(/^not defined by the default resource server \(.+\): ghost$/) },
    ]);
    const reasonAlone = await patch(`/keypairs/${created.clientId}`, { disabledReason: 'why' });
    expect(reasonAlone.body.errors).toEqual([{ field: 'disabledReason', message: 'goes with "enabled": false' }]);
    const longGrace = await post(`/keypairs/${created.clientId}/rotate`, { gracePeriodSeconds: 7 * 86_400 + 1 });
    expect(longGrace.body.errors).toEqual([{ field: 'gracePeriodSeconds', message: 'must be a whole number from 0 to 604800' }]);
    const shown = (await get(`/keypairs/${created.clientId}`)).body;
    expect(shown).toMatchObject({ version: 1, enabled: true, scopes: ['read'], secretHint: created.secretHint });
    expect((await requestToken(kg.http, created)).status).toBe(200);
  });

  it('list parameters are checked', async () => {
    const response = await get(`/environments/${tenant.environmentId}/keypairs?limit=101&enabled=yes&cursor=garbage&sort=name`);
    expectProblem(response, 400, 'validation_failed');
    expect(response.body.errors.map((error: { field: string }) => error.field)).toEqual(['limit', 'enabled', 'sort']);
    const badCursor = await get(`/environments/${tenant.environmentId}/keypairs?cursor=garbage`);
    expect(badCursor.body.errors).toEqual([{ field: 'cursor', message: 'is not a cursor this API returned' }]);
    const badEvents = await get(`/accounts/${tenant.accountId}/events?from=yesterday`);
    expect(badEvents.body.errors).toEqual([{ field: 'from', message: expect.stringContaining('ISO 8601') }]);
  });
});

describe('characters and dates PostgreSQL would refuse', () => {
  it('NUL in a field, a query value or a path id is a 4xx, never a 500', async () => {
    const body = await post(`/environments/${tenant.environmentId}/keypairs`, { name: 'a\u0000b', comment: '\u0000', scopes: [] });
    expectProblem(body, 400, 'validation_failed');
    expect(body.body.errors.map((error: { field: string }) => error.field)).toEqual(['name', 'comment']);
    expectProblem(await get(`/environments/${tenant.environmentId}/keypairs?q=%00`), 400, 'validation_failed');
    expectProblem(await get(`/accounts/${tenant.accountId}/events?action=%00`), 400, 'validation_failed');
    for (const path of ['/accounts/%00', '/environments/%00/keypairs', '/users/%00', '/keypairs/%00/events']) {
      expectProblem(await get(path), 404, 'not_found');
    }
  });

  it('an impossible calendar date is refused, not rolled over', async () => {
    const response = await post(`/environments/${tenant.environmentId}/keypairs`, { name: 'k', scopes: [], expiresAt: '2099-02-30T00:00:00Z' });
    expectProblem(response, 400, 'validation_failed');
    expect(response.body.errors).toEqual([{ field: 'expiresAt', message: 'is not a real date' }]);
  });
});

describe('request bodies', () => {
  it('over 64 KiB: 413, nothing written', async () => {
    const before = await keypairCount();
    const response = await post(`/environments/${tenant.environmentId}/keypairs`, { name: 'big', scopes: [], comment: 'x'.repeat(70_000) });
    expectProblem(response, 413, 'payload_too_large');
    expect(await keypairCount()).toBe(before);
  });

  it('not JSON: 415; malformed JSON or not an object: 400', async () => {
    const path = `/admin/v1/environments/${tenant.environmentId}/keypairs`;
    expectProblem(await kg.http.post(path).set('Authorization', admin.bearer).type('form').send('name=x'), 415, 'unsupported_media_type');
    expectProblem(await kg.http.post(path).set('Authorization', admin.bearer).set('Content-Type', 'application/json').send('{"name":'), 400, 'validation_failed');
    expectProblem(await kg.http.post(path).set('Authorization', admin.bearer).set('Content-Type', 'application/json').send('["x"]'), 400, 'validation_failed');
  });
});

describe('conflicts and preconditions', () => {
  it('If-Match with a stale version: 412; with a malformed value: 400', async () => {
    const created = (await post(`/environments/${tenant.environmentId}/keypairs`, { name: 'versioned', scopes: ['read'] })).body;
    await patch(`/keypairs/${created.clientId}`, { comment: 'v2' });
    const stale = await patch(`/keypairs/${created.clientId}`, { comment: 'from v1' }).set('If-Match', '"1"');
    expectProblem(stale, 412, 'precondition_failed');
    expect((await get(`/keypairs/${created.clientId}`)).body.comment).toBe('v2');
    expectProblem(await patch(`/keypairs/${created.clientId}`, { comment: 'x' }).set('If-Match', 'v1'), 400, 'validation_failed');
    const fresh = await patch(`/keypairs/${created.clientId}`, { comment: 'v3' }).set('If-Match', '"2"');
    expect(fresh.status).toBe(200);
  });

  it('MAX_ACTIVE_KEYPAIRS per owner: 409 at the cap, counted per environment and per account', async () => {
    const own = await createTenant(kg.keygate);
    const owner = await createUser(kg.keygate, { accounts: [own.accountId] });
    const create = (path: string) => kg.http.post(`/admin/v1${path}`).set('Authorization', owner.bearer).send({ name: 'k', scopes: ['read'] });
    const ids: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      const response = await create(`/environments/${own.environmentId}/keypairs`);
      expect(response.status).toBe(201);
      ids.push(response.body.clientId);
    }
    const refused = await create(`/environments/${own.environmentId}/keypairs`);
    expectProblem(refused, 409, 'limit_reached');
    expect(refused.body.detail).toContain('3 active keypairs');
    // The account's own keypairs are a separate count.
    expect((await create(`/accounts/${own.accountId}/keypairs`)).status).toBe(201);
    // A disabled keypair frees a place; enabling it again past the cap is refused.
    await kg.http.patch(`/admin/v1/keypairs/${ids[0]}`).set('Authorization', owner.bearer).send({ enabled: false });
    expect((await create(`/environments/${own.environmentId}/keypairs`)).status).toBe(201);
    expectProblem(await kg.http.patch(`/admin/v1/keypairs/${ids[0]}`).set('Authorization', owner.bearer).send({ enabled: true }), 409, 'limit_reached');
  });
});

describe('closing owners', () => {
  it('closing an environment deletes its keypairs, audited, and their tokens stop at once', async () => {
    const operator = await createUser(kg.keygate, { operator: true });
    const own = await createTenant(kg.keygate);
    const created = (await kg.http.post(`/admin/v1/environments/${own.environmentId}/keypairs`).set('Authorization', operator.bearer).send({ name: 'k', scopes: ['read'] })).body;
    expect((await requestToken(kg.http, created)).status).toBe(200);

    expect((await kg.http.delete(`/admin/v1/environments/${own.environmentId}`).set('Authorization', operator.bearer)).status).toBe(204);
    expect((await requestToken(kg.http, created)).status).toBe(401);
    expect((await kg.http.get(`/admin/v1/keypairs/${created.clientId}`).set('Authorization', operator.bearer)).status).toBe(404);
    expect((await kg.http.get(`/admin/v1/environments/${own.environmentId}`).set('Authorization', operator.bearer)).status).toBe(404);
    const events = (await kg.http.get(`/admin/v1/accounts/${own.accountId}/events`).set('Authorization', operator.bearer)).body.data as Array<{ action: string; target: { id: string } }>;
    expect(events.slice(0, 2).map((event) => [event.action, event.target.id])).toEqual([
      ['environment.closed', own.environmentId],
      ['keypair.deleted', created.clientId],
    ]);
  });

  it('closing an account deletes the keypairs of all its environments', async () => {
    const operator = await createUser(kg.keygate, { operator: true });
    const own = await createTenant(kg.keygate);
    const inEnvironment = (await kg.http.post(`/admin/v1/environments/${own.environmentId}/keypairs`).set('Authorization', operator.bearer).send({ name: 'e', scopes: ['read'] })).body;
    const inAccount = (await kg.http.post(`/admin/v1/accounts/${own.accountId}/keypairs`).set('Authorization', operator.bearer).send({ name: 'a', scopes: ['read'] })).body;
    expect((await kg.http.delete(`/admin/v1/accounts/${own.accountId}`).set('Authorization', operator.bearer)).status).toBe(204);
    expect((await requestToken(kg.http, inEnvironment)).status).toBe(401);
    expect((await requestToken(kg.http, inAccount)).status).toBe(401);
    const [row] = await kg.keygate.db.knex('keypairs').where({ account_id: own.accountId }).count<{ count: number }[]>({ count: '*' });
    expect(Number(row!.count)).toBe(0);
    expect((await kg.http.get(`/admin/v1/accounts/${own.accountId}`).set('Authorization', operator.bearer)).status).toBe(404);
  });
});

describe('the audit trail cannot be changed through the API', () => {
  it('offers no way to change or delete events', async () => {
    const operator = await createUser(kg.keygate, { operator: true });
    const [event] = (await kg.http.get(`/admin/v1/accounts/${tenant.accountId}/events`).set('Authorization', operator.bearer)).body.data as Array<{ id: string }>;
    for (const method of ['patch', 'put', 'delete'] as const) {
      const byId = await kg.http[method](`/admin/v1/events/${event!.id}`).set('Authorization', operator.bearer).send({});
      expect(byId.status, method).toBe(404);
      const collection = await kg.http[method](`/admin/v1/accounts/${tenant.accountId}/events`).set('Authorization', operator.bearer).send({});
      expect(collection.status, method).toBe(405);
    }
  });
});
