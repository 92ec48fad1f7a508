import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser, type TestUser } from '../support/admin.js';
import { createTenant, requestToken, startTestKeygate, type Tenant, type TestKeygate } from '../support/keygate.js';

let kg: TestKeygate;
let tenant: Tenant;
let admin: TestUser;

beforeAll(async () => {
  kg = await startTestKeygate();
  tenant = await createTenant(kg.keygate);
  admin = await createUser(kg.keygate, { environments: [tenant] });
});
afterAll(() => kg.close());

const api = {
  get: (path: string, user = admin) => kg.http.get(`/admin/v1${path}`).set('Authorization', user.bearer).set('User-Agent', 'keygate-tests'),
  post: (path: string, body: object, user = admin) => kg.http.post(`/admin/v1${path}`).set('Authorization', user.bearer).set('User-Agent', 'keygate-tests').send(body),
  patch: (path: string, body: object, user = admin) => kg.http.patch(`/admin/v1${path}`).set('Authorization', user.bearer).set('User-Agent', 'keygate-tests').send(body),
  delete: (path: string, user = admin) => kg.http.delete(`/admin/v1${path}`).set('Authorization', user.bearer),
};

async function history(clientId: string) {
  const response = await api.get(`/keypairs/${clientId}/events`);
  expect(response.status).toBe(200);
  return response.body.data as Array<{ action: string; actor: { id: string; email: string; type: string }; before: unknown; after: unknown; ip: string; userAgent: string }>;
}

describe('keypair life through the admin API', () => {
  it('create returns the secret once, with every documented field', async () => {
    const response = await api.post(`/environments/${tenant.environmentId}/keypairs`, { name: 'billing sync', comment: 'nightly job', scopes: ['read'], expiresIn: '30d' });
    expect(response.status).toBe(201);
    expect(response.headers.location).toBe(`/admin/v1/keypairs/${response.body.clientId}`);
    expect(response.headers.etag).toBe('"1"');
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.body).toEqual({
      clientId: expect.stringMatching(/^kp_[0-9A-Za-z]{22}$/),
      clientSecret: expect.stringMatching(/^kgs_[0-9A-Za-z]{49}$/),
      name: 'billing sync',
      comment: 'nightly job',
      scopes: ['read'],
      grants: [{ resourceServer: kg.keygate.catalog.defaultServer!.identifier, scopes: ['read'] }],
      enabled: true,
      disabledReason: null,
      disabledAt: null,
      secretHint: `kgs_••••${response.body.clientSecret.slice(-4)}`,
      credentialType: 'secret',
      publicKeys: [],
      federation: null,
      requireDpop: false,
      lastUsedAt: null,
      expiresAt: new Date(kg.clock.now().getTime() + 30 * 86_400_000).toISOString(),
      rateLimitPerMinute: null,
      allowedIps: [],
      autoDisable: null,
      accountId: tenant.accountId,
      environmentId: tenant.environmentId,
      createdBy: admin.id,
      createdAt: kg.clock.now().toISOString(),
      updatedAt: kg.clock.now().toISOString(),
      version: 1,
    });

    // The secret works at the token endpoint, and is never shown again.
    expect((await requestToken(kg.http, response.body)).status).toBe(200);
    const shown = await api.get(`/keypairs/${response.body.clientId}`);
    expect(shown.status).toBe(200);
    expect(shown.headers.etag).toBe('"1"');
    expect(JSON.stringify(shown.body)).not.toContain(response.body.clientSecret);
    expect(shown.body).not.toHaveProperty('clientSecret');

    const [created] = await history(response.body.clientId);
    expect(created).toMatchObject({ action: 'keypair.created', actor: { id: admin.id, email: admin.email, type: 'user' }, ip: expect.any(String), userAgent: 'keygate-tests' });
    expect(JSON.stringify(created)).not.toContain(response.body.clientSecret);
  });

  it('create accepts expiresAt, seconds, or no expiry at all', async () => {
    const at = new Date(kg.clock.now().getTime() + 3_600_000).toISOString();
    expect((await api.post(`/environments/${tenant.environmentId}/keypairs`, { name: 'a', scopes: ['read'], expiresAt: at })).body.expiresAt).toBe(at);
    expect((await api.post(`/environments/${tenant.environmentId}/keypairs`, { name: 'b', scopes: ['read'], expiresIn: 3600 })).body.expiresAt).toBe(at);
    expect((await api.post(`/environments/${tenant.environmentId}/keypairs`, { name: 'c', scopes: ['read'], expiresIn: '3600' })).body.expiresAt).toBe(at);
    expect((await api.post(`/environments/${tenant.environmentId}/keypairs`, { name: 'd', scopes: [] })).body.expiresAt).toBeNull();
  });

  it('PATCH renames, comments, re-scopes, disables with a reason and re-enables, each audited', async () => {
    const created = (await api.post(`/environments/${tenant.environmentId}/keypairs`, { name: 'editable', scopes: ['read'] })).body;
    const clientId = created.clientId as string;

    const edited = await api.patch(`/keypairs/${clientId}`, { name: 'edited', comment: 'owned by the data team', scopes: ['read', 'write'] });
    expect(edited.status).toBe(200);
    expect(edited.body).toMatchObject({ name: 'edited', comment: 'owned by the data team', scopes: ['read', 'write'], version: 2 });
    expect(edited.headers.etag).toBe('"2"');

    const disabled = await api.patch(`/keypairs/${clientId}`, { enabled: false, disabledReason: 'rotating vendors' });
    expect(disabled.body).toMatchObject({ enabled: false, disabledReason: 'rotating vendors', disabledAt: expect.any(String), version: 3 });
    expect((await requestToken(kg.http, created)).status).toBe(401);

    const enabled = await api.patch(`/keypairs/${clientId}`, { enabled: true });
    expect(enabled.body).toMatchObject({ enabled: true, disabledReason: null, disabledAt: null, version: 4 });
    expect((await requestToken(kg.http, created, { scope: 'write' })).status).toBe(200);

    // A PATCH that changes nothing writes nothing.
    const unchanged = await api.patch(`/keypairs/${clientId}`, { name: 'edited' });
    expect(unchanged.body.version).toBe(4);

    const events = await history(clientId);
    expect(events.map((event) => event.action)).toEqual(['keypair.enabled', 'keypair.disabled', 'keypair.updated', 'keypair.created']);
    expect(events[2]).toMatchObject({
      before: { name: 'editable', comment: '', scopes: ['read'] },
      after: { name: 'edited', comment: 'owned by the data team', scopes: ['read', 'write'] },
    });
    expect(events[1]).toMatchObject({ before: { enabled: true, disabledReason: null }, after: { enabled: false, disabledReason: 'rotating vendors' } });
  });

  it('rotate returns a new secret once; the grace period keeps the old one alive', async () => {
    const created = (await api.post(`/environments/${tenant.environmentId}/keypairs`, { name: 'rotating', scopes: ['read'] })).body;
    const rotated = await api.post(`/keypairs/${created.clientId}/rotate`, { gracePeriodSeconds: 600 });
    expect(rotated.status).toBe(200);
    expect(rotated.body.clientSecret).toMatch(/^kgs_/);
    expect(rotated.body.clientSecret).not.toBe(created.clientSecret);
    expect(rotated.body.secretHint).toBe(`kgs_••••${rotated.body.clientSecret.slice(-4)}`);
    expect(rotated.body.version).toBe(2);
    expect((await requestToken(kg.http, created)).status).toBe(200);
    expect((await requestToken(kg.http, rotated.body)).status).toBe(200);

    // No body: no grace. The previous secret dies at once.
    const again = await api.post(`/keypairs/${created.clientId}/rotate`, {});
    expect(again.status).toBe(200);
    expect((await requestToken(kg.http, rotated.body)).status).toBe(401);
    expect((await requestToken(kg.http, created)).status).toBe(401);
    expect((await requestToken(kg.http, again.body)).status).toBe(200);

    const [event] = await history(created.clientId);
    expect(event).toMatchObject({ action: 'keypair.rotated', after: { gracePeriodSeconds: 0 } });
    expect(JSON.stringify(await history(created.clientId))).not.toContain(again.body.clientSecret);
  });

  it('delete removes the keypair for good; its history stays readable', async () => {
    const created = (await api.post(`/environments/${tenant.environmentId}/keypairs`, { name: 'doomed', scopes: ['read'] })).body;
    const deleted = await api.delete(`/keypairs/${created.clientId}`);
    expect(deleted.status).toBe(204);
    expect((await api.get(`/keypairs/${created.clientId}`)).status).toBe(404);
    expect((await requestToken(kg.http, created)).status).toBe(401);
    const events = await history(created.clientId);
    expect(events.map((event) => event.action)).toEqual(['keypair.deleted', 'keypair.created']);
  });

  it('lists page by cursor in a stable order and filter by state and name', async () => {
    const own = await createTenant(kg.keygate);
    const owner = await createUser(kg.keygate, { accounts: [own.accountId] });
    const names = ['alpha', 'beta', 'gamma', 'delta', 'epsilon'];
    const ids: string[] = [];
    for (const name of names) {
      kg.clock.advance(1);
      ids.push((await api.post(`/environments/${own.environmentId}/keypairs`, { name, scopes: ['read'] }, owner)).body.clientId);
    }
    await api.patch(`/keypairs/${ids[1]}`, { enabled: false }, owner);

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { status: number; body: { data: Array<{ clientId: string }>; nextCursor: string | null } } = await api.get(`/environments/${own.environmentId}/keypairs?limit=2${cursor ? `&cursor=${cursor}` : ''}`, owner);
      expect(page.status).toBe(200);
      expect(page.body.data.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.data.map((keypair) => keypair.clientId));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(ids);

    const disabled = await api.get(`/environments/${own.environmentId}/keypairs?enabled=false`, owner);
    expect(disabled.body.data.map((keypair: { name: string }) => keypair.name)).toEqual(['beta']);
    const search = await api.get(`/environments/${own.environmentId}/keypairs?q=LTA`, owner);
    expect(search.body.data.map((keypair: { name: string }) => keypair.name)).toEqual(['delta']);
    const wildcard = await api.get(`/environments/${own.environmentId}/keypairs?q=%25`, owner);
    expect(wildcard.body.data).toEqual([]);

    // Account-level keypairs are listed apart from environment ones.
    const accountLevel = await api.post(`/accounts/${own.accountId}/keypairs`, { name: 'account key', scopes: ['read'] }, owner);
    expect(accountLevel.status).toBe(201);
    expect(accountLevel.body.environmentId).toBeNull();
    const accountList = await api.get(`/accounts/${own.accountId}/keypairs`, owner);
    expect(accountList.body.data.map((keypair: { clientId: string }) => keypair.clientId)).toEqual([accountLevel.body.clientId]);
  });

  it('shows the batched last-used time once it is written', async () => {
    const created = (await api.post(`/environments/${tenant.environmentId}/keypairs`, { name: 'used', scopes: ['read'] })).body;
    expect((await requestToken(kg.http, created)).status).toBe(200);
    await kg.keygate.lastUsed.flush();
    expect((await api.get(`/keypairs/${created.clientId}`)).body.lastUsedAt).toBe(kg.clock.now().toISOString());
  });

  it('If-Match: one of two concurrent PATCHes on the same version gets 412', async () => {
    const created = (await api.post(`/environments/${tenant.environmentId}/keypairs`, { name: 'contended', scopes: ['read'] })).body;
    const [first, second] = await Promise.all([
      api.patch(`/keypairs/${created.clientId}`, { comment: 'first' }).set('If-Match', '"1"'),
      api.patch(`/keypairs/${created.clientId}`, { comment: 'second' }).set('If-Match', '"1"'),
    ]);
    expect([first.status, second.status].sort()).toEqual([200, 412]);
    const loser = first.status === 412 ? first : second;
    expect(loser.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(loser.body).toMatchObject({ status: 412, code: 'precondition_failed' });
    const winner = first.status === 200 ? first : second;
    expect((await api.get(`/keypairs/${created.clientId}`)).body).toMatchObject({ version: 2, comment: winner.body.comment });
  });
});
