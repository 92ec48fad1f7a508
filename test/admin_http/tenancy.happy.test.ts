import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser, type TestUser } from '../support/admin.js';
import { requestToken, startTestKeygate, type TestKeygate } from '../support/keygate.js';

let kg: TestKeygate;
let operator: TestUser;

beforeAll(async () => {
  kg = await startTestKeygate();
  operator = await createUser(kg.keygate, { operator: true });
});
afterAll(() => kg.close());

const as = (user: TestUser) => ({
  get: (path: string) => kg.http.get(`/admin/v1${path}`).set('Authorization', user.bearer),
  post: (path: string, body: object = {}) => kg.http.post(`/admin/v1${path}`).set('Authorization', user.bearer).send(body),
  patch: (path: string, body: object) => kg.http.patch(`/admin/v1${path}`).set('Authorization', user.bearer).send(body),
  put: (path: string) => kg.http.put(`/admin/v1${path}`).set('Authorization', user.bearer),
  delete: (path: string) => kg.http.delete(`/admin/v1${path}`).set('Authorization', user.bearer),
});

interface Event {
  action: string;
  actor: { id: string; type: string };
  target: { type: string; id: string };
  environmentId: string | null;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
}

async function accountEvents(accountId: string, query = ''): Promise<Event[]> {
  const response = await as(operator).get(`/accounts/${accountId}/events${query}`);
  expect(response.status).toBe(200);
  return response.body.data;
}

describe('an operator sets up a tenant over HTTP', () => {
  it('creates an account, an environment, a user and grants, each audited', async () => {
    const api = as(operator);
    const account = await api.post('/accounts', { name: 'Acme' });
    expect(account.status).toBe(201);
    expect(account.body).toMatchObject({ id: expect.stringMatching(/^acc_/), name: 'Acme', status: 'active' });
    const accountId = account.body.id as string;

    const renamed = await api.patch(`/accounts/${accountId}`, { name: 'Acme Corp' });
    expect(renamed.body.name).toBe('Acme Corp');

    const environment = await api.post(`/accounts/${accountId}/environments`, { name: 'production' });
    expect(environment.status).toBe(201);
    expect(environment.body).toMatchObject({ id: expect.stringMatching(/^env_/), accountId, name: 'production', status: 'active' });
    const environmentId = environment.body.id as string;
    expect((await api.get(`/accounts/${accountId}/environments`)).body.data.map((item: { id: string }) => item.id)).toEqual([environmentId]);
    expect((await api.patch(`/environments/${environmentId}`, { name: 'prod' })).body.name).toBe('prod');

    const user = await api.post('/users', { email: 'Dana@Acme.test', name: 'Dana' });
    expect(user.status).toBe(201);
    expect(user.body).toMatchObject({ id: expect.stringMatching(/^usr_/), email: 'dana@acme.test', name: 'Dana', isOperator: false });
    expect((await api.post('/users', { email: 'dana@ACME.test' })).status).toBe(409);
    const userId = user.body.id as string;

    expect((await api.put(`/environments/${environmentId}/admins/${userId}`)).status).toBe(201);
    expect((await api.put(`/environments/${environmentId}/admins/${userId}`)).status).toBe(200);
    expect((await api.put(`/accounts/${accountId}/admins/${userId}`)).status).toBe(201);
    const shown = await api.get(`/users/${userId}`);
    expect(shown.body.memberships).toHaveLength(2);
    expect(shown.body.memberships).toEqual(
      expect.arrayContaining([expect.objectContaining({ role: 'admin', accountId: null, environmentId }), expect.objectContaining({ role: 'admin', accountId, environmentId: null })]),
    );
    expect((await api.delete(`/accounts/${accountId}/admins/${userId}`)).status).toBe(204);
    expect((await api.delete(`/accounts/${accountId}/admins/${userId}`)).status).toBe(404);

    const events = await accountEvents(accountId);
    expect(events.map((event) => event.action)).toEqual([
      'membership.revoked',
      'membership.granted',
      'membership.granted',
      'environment.updated',
      'environment.created',
      'account.updated',
      'account.created',
    ]);
    expect(events.every((event) => event.actor.id === operator.id && event.actor.type === 'operator')).toBe(true);
    expect(events[3]).toMatchObject({ before: { name: 'production' }, after: { name: 'prod' } });
    expect(events[2]).toMatchObject({ target: { type: 'user', id: userId }, environmentId });
    expect(events[1]).toMatchObject({ target: { type: 'user', id: userId }, environmentId: null });

    // The history filters by action, environment and time, and pages by cursor.
    expect((await accountEvents(accountId, '?action=membership.granted')).length).toBe(2);
    expect((await accountEvents(accountId, `?environment=${environmentId}`)).map((event) => event.action)).toEqual(['membership.granted', 'environment.updated', 'environment.created']);
    expect((await accountEvents(accountId, `?actor=${operator.id}`)).length).toBe(7);
    expect((await accountEvents(accountId, `?to=${encodeURIComponent(kg.clock.now().toISOString())}`)).length).toBe(0);
    const firstPage = await as(operator).get(`/accounts/${accountId}/events?limit=4`);
    const secondPage = await as(operator).get(`/accounts/${accountId}/events?limit=4&cursor=${firstPage.body.nextCursor}`);
    expect([...firstPage.body.data, ...secondPage.body.data].map((event: Event) => event.action)).toEqual(events.map((event) => event.action));
    expect(secondPage.body.nextCursor).toBeNull();
  });

  it('users: the operator role can be granted but not dropped by oneself; changes are audited', async () => {
    const api = as(operator);
    const user = (await api.post('/users', { email: `ops-${Date.now()}@acme.test` })).body;
    const promoted = await api.patch(`/users/${user.id}`, { isOperator: true, name: 'Second operator' });
    expect(promoted.body).toMatchObject({ isOperator: true, name: 'Second operator' });
    expect((await api.patch(`/users/${operator.id}`, { isOperator: false })).status).toBe(409);
    const listed = (await api.get('/users')).body.data as Array<{ id: string }>;
    expect(listed.map((item) => item.id)).toEqual(expect.arrayContaining([operator.id, user.id]));
    const audit = await kg.keygate.db.knex('audit_events').where({ target_id: user.id }).orderBy('seq').select('action', 'after');
    expect(audit).toEqual([
      { action: 'user.created', after: expect.objectContaining({ isOperator: false }) },
      { action: 'user.updated', after: { name: 'Second operator', isOperator: true } },
    ]);
  });

  it('resource servers: create and change a catalogue; tokens follow at once', async () => {
    const api = as(operator);
    const identifier = `https://reports-${Date.now()}.api.test/`;
    const created = await api.post('/resource-servers', {
      identifier,
      name: 'Reports',
      scopes: [{ name: 'reports:read', description: 'Read reports' }],
      accessTokenTtl: 120,
    });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({ id: expect.stringMatching(/^rs_/), identifier, name: 'Reports', scopes: [{ name: 'reports:read', description: 'Read reports' }], accessTokenTtl: 120, isDefault: false, availableTo: null });
    expect((await api.post('/resource-servers', { identifier, name: 'Again', scopes: [] })).status).toBe(409);
    expect((await api.get(`/resource-servers/${created.body.id}`)).body.name).toBe('Reports');

    const account = (await api.post('/accounts', { name: 'Reporting' })).body;
    const keypair = (await api.post(`/accounts/${account.id}/keypairs`, { name: 'reporter', grants: [{ resourceServer: identifier, scopes: ['reports:read'] }] })).body;
    const token = await requestToken(kg.http, keypair, { resource: identifier });
    expect(token.status).toBe(200);
    expect(token.body).toMatchObject({ scope: 'reports:read', expires_in: 120 });

    const changed = await api.patch(`/resource-servers/${created.body.id}`, { accessTokenTtl: 600, scopes: [{ name: 'reports:read', description: 'Read' }, { name: 'reports:write', description: 'Write' }] });
    expect(changed.status).toBe(200);
    expect(changed.body.accessTokenTtl).toBe(600);
    expect((await requestToken(kg.http, keypair, { resource: identifier })).body.expires_in).toBe(600);
    const bad = await api.patch(`/resource-servers/${created.body.id}`, { accessTokenTtl: 86_401, scopes: [{ name: 'a' }, { name: 'a' }] });
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((error: { field: string }) => error.field)).toEqual(['scopes', 'accessTokenTtl']);
  });
});
