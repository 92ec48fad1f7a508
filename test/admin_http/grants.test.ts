import { getListFromStatusListJWT, getStatusListFromJWT } from '@sd-jwt/jwt-status-list';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVerifier } from 'keygate/verifier';
import { createUser, type TestUser } from '../support/admin.js';
import { createTenant, requestToken, startServedKeygate, type ServedKeygate, type Tenant } from '../support/keygate.js';

let kg: ServedKeygate;
let tenant: Tenant;
let other: Tenant;
let operator: TestUser;
let envAdmin: TestUser;
let otherAdmin: TestUser;
let defaultServer: string;

beforeAll(async () => {
  kg = await startServedKeygate({ STATUS_LIST_TTL: '30' });
  tenant = await createTenant(kg.keygate);
  other = await createTenant(kg.keygate);
  operator = await createUser(kg.keygate, { operator: true });
  envAdmin = await createUser(kg.keygate, { environments: [tenant] });
  otherAdmin = await createUser(kg.keygate, { accounts: [other.accountId] });
  defaultServer = kg.keygate.catalog.defaultServer!.identifier;
});
afterAll(() => kg.close());

const call = (method: 'get' | 'post' | 'patch', path: string, user: TestUser, body?: object) => {
  const request = kg.http[method](`/admin/v1${path}`).set('Authorization', user.bearer);
  return body === undefined ? request : request.send(body);
};

let serial = 0;
/** A resource server made through the admin API, as an operator would. */
async function resourceServer(scopes: string[], options: { identifier?: string; availableTo?: string[] | null } = {}) {
  serial += 1;
  const identifier = options.identifier ?? `https://api-${serial}-${Date.now()}.grants.test`;
  const response = await call('post', '/resource-servers', operator, {
    identifier,
    name: `API ${serial}`,
    scopes: scopes.map((name) => ({ name, description: name })),
    ...(options.availableTo !== undefined && { availableTo: options.availableTo }),
  });
  expect(response.status).toBe(201);
  return { id: response.body.id as string, identifier };
}

async function createKeypair(body: object, user = envAdmin) {
  const response = await call('post', `/environments/${tenant.environmentId}/keypairs`, user, { name: 'grants test', ...body });
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  return response.body as { clientId: string; clientSecret: string; scopes: string[]; grants: Array<{ resourceServer: string; scopes: string[] }>; version: number };
}

describe('the two cases seen', () => {
  it('a keypair holding read of the default API gets no token for a new resource server that also defines read', async () => {
    const payments = await resourceServer(['read', 'refund'], { identifier: 'https://payments.example' });
    const keypair = await createKeypair({ scopes: ['read'] });
    expect((await requestToken(kg.http, keypair)).status).toBe(200);

    for (const params of [{ resource: payments.identifier }, { resource: payments.identifier, scope: 'read' }] as Array<Record<string, string>>) {
      const response = await requestToken(kg.http, keypair, params);
      expect(response.status).toBe(400);
      expect(response.body).toEqual({ error: 'invalid_target', error_description: 'the keypair has no grant at this resource server' });
    }
  });

  it('an environment admin cannot grant its keypair a scope of a resource server not available to its account', async () => {
    const payments = await resourceServer(['read', 'refund'], { availableTo: [other.accountId] });
    const refused = await call('post', `/environments/${tenant.environmentId}/keypairs`, envAdmin, { name: 'sneaky', grants: [{ resourceServer: payments.identifier, scopes: ['refund'] }] });
    expect(refused.status).toBe(400);
    expect(refused.body.errors).toEqual([{ field: 'grants[0].resourceServer', message: 'is not a resource server available to this account' }]);

    // Nor through the shorthand, nor by PATCH, and nothing was written.
    const shorthand = await call('post', `/environments/${tenant.environmentId}/keypairs`, envAdmin, { name: 'sneaky', scopes: ['refund'] });
    expect(shorthand.status).toBe(400);
    expect(shorthand.body.errors).toEqual([{ field: 'scopes', message: `not defined by the default resource server (${defaultServer}): refund` }]);
    const keypair = await createKeypair({ scopes: ['read'] });
    const patched = await call('patch', `/keypairs/${keypair.clientId}`, envAdmin, { grants: [{ resourceServer: payments.identifier, scopes: ['refund'] }] });
    expect(patched.status).toBe(400);
    expect(patched.body.errors).toEqual([{ field: 'grants[0].resourceServer', message: 'is not a resource server available to this account' }]);
    expect((await call('get', `/keypairs/${keypair.clientId}`, envAdmin)).body).toMatchObject({ version: 1, grants: [{ resourceServer: defaultServer, scopes: ['read'] }] });

    const response = await requestToken(kg.http, keypair, { resource: payments.identifier, scope: 'refund' });
    expect(response.status).toBe(400);
    expect(response.body.error).toBe('invalid_target');
  });
});

describe('grants through the admin API', () => {
  it('round trip: create, read, PATCH replaces every grant, the shorthand replaces only the default one', async () => {
    const reports = await resourceServer(['export', 'audit']);
    const created = await createKeypair({ scopes: ['read'], grants: [{ resourceServer: reports.identifier, scopes: ['export'] }] });
    const both = [
      { resourceServer: defaultServer, scopes: ['read'] },
      { resourceServer: reports.identifier, scopes: ['export'] },
    ].sort((a, b) => (a.resourceServer < b.resourceServer ? -1 : 1));
    expect(created).toMatchObject({ scopes: ['read'], grants: both });
    expect((await call('get', `/keypairs/${created.clientId}`, envAdmin)).body).toMatchObject({ scopes: ['read'], grants: both });
    const listed = (await call('get', `/environments/${tenant.environmentId}/keypairs`, envAdmin)).body.data.find((item: { clientId: string }) => item.clientId === created.clientId);
    expect(listed).toMatchObject({ scopes: ['read'], grants: both });

    // Tokens per resource server carry only what is granted there.
    expect((await requestToken(kg.http, created, { resource: reports.identifier })).body.scope).toBe('export');
    expect((await requestToken(kg.http, created)).body.scope).toBe('read');
    expect((await requestToken(kg.http, created, { resource: reports.identifier, scope: 'audit' })).body).toEqual({ error: 'invalid_scope', error_description: 'requested scope is not allowed', scope: 'audit' });
    expect((await requestToken(kg.http, created, { scope: 'export' })).body).toEqual({ error: 'invalid_scope', error_description: 'requested scope is not allowed', scope: 'export' });

    // The shorthand alone keeps the other grants.
    const shorthand = await call('patch', `/keypairs/${created.clientId}`, envAdmin, { scopes: ['read', 'write'] });
    expect(shorthand.status).toBe(200);
    expect(shorthand.body.grants).toEqual(both.map((grant) => (grant.resourceServer === defaultServer ? { ...grant, scopes: ['read', 'write'] } : grant)));

    // grants replaces them all.
    const replaced = await call('patch', `/keypairs/${created.clientId}`, envAdmin, { grants: [{ resourceServer: reports.identifier, scopes: ['audit', 'export'] }] });
    expect(replaced.status).toBe(200);
    expect(replaced.body).toMatchObject({ scopes: [], grants: [{ resourceServer: reports.identifier, scopes: ['audit', 'export'] }] });
    expect((await requestToken(kg.http, created)).body.error).toBe('invalid_target');
    expect((await requestToken(kg.http, created, { resource: reports.identifier })).body.scope).toBe('audit export');

    // The same grants again change nothing: no new version.
    const again = await call('patch', `/keypairs/${created.clientId}`, envAdmin, { grants: [{ resourceServer: reports.identifier, scopes: ['audit', 'export'] }] });
    expect(again.body.version).toBe(replaced.body.version);

    const events = (await call('get', `/keypairs/${created.clientId}/events?action=keypair.updated`, envAdmin)).body.data;
    expect(events[0].after.grants).toEqual([{ resourceServerId: reports.id, resourceServer: reports.identifier, scopes: ['audit', 'export'] }]);
  });

  it('scopes and grants naming the default resource server in one request: 400 naming scopes', async () => {
    const response = await call('post', `/environments/${tenant.environmentId}/keypairs`, envAdmin, { name: 'both', scopes: ['read'], grants: [{ resourceServer: defaultServer, scopes: ['write'] }] });
    expect(response.status).toBe(400);
    expect(response.body.errors).toEqual([{ field: 'scopes', message: `give the scopes of the default resource server (${defaultServer}) in scopes or in grants, not both` }]);
  });

  it('lists every bad field of the grants at once, nothing written', async () => {
    const reports = await resourceServer(['export']);
    const response = await call('post', `/environments/${tenant.environmentId}/keypairs`, envAdmin, {
      name: 'x'.repeat(101),
      grants: [
        { resourceServer: 'https://nowhere.grants.test', scopes: ['read'] },
        { resourceServer: reports.identifier, scopes: ['export', 'ghost', 'phantom'] },
        { resourceServer: reports.identifier, scopes: ['export'] },
        { resourceServer: defaultServer, scopes: [] },
      ],
    });
    expect(response.status).toBe(400);
    expect(response.body.errors).toEqual([
      { field: 'name', message: 'must be 1 to 100 characters' },
      { field: 'grants[0].resourceServer', message: 'is not a resource server available to this account' },
      { field: 'grants[1].scopes[1]', message: `is not defined by ${reports.identifier}` },
      { field: 'grants[1].scopes[2]', message: `is not defined by ${reports.identifier}` },
      { field: 'grants[2].resourceServer', message: 'is named by an earlier grant' },
      { field: 'grants[3].scopes', message: 'must name at least one scope (leave the grant out to grant nothing there)' },
    ]);

    const shape = await call('post', `/environments/${tenant.environmentId}/keypairs`, envAdmin, {
      name: 'k',
      grants: [{ resourceServer: 42, scopes: ['ok', 'has space', 'ok'] }, 'nope', { scopes: 'read', extra: true }],
    });
    expect(shape.status).toBe(400);
    expect(shape.body.errors).toEqual([
      { field: 'grants[0].resourceServer', message: 'must be a string' },
      { field: 'grants[0].scopes[1]', message: expect.stringContaining('must be a scope token') },
      { field: 'grants[0].scopes[2]', message: 'repeats an earlier scope' },
      { field: 'grants[1]', message: 'must be {"resourceServer", "scopes"}' },
      { field: 'grants[2].extra', message: 'is not a known field' },
      { field: 'grants[2].resourceServer', message: 'is required' },
      { field: 'grants[2].scopes', message: 'must be an array' },
    ]);
    const [row] = await kg.keygate.db.knex('keypairs').where({ environment_id: tenant.environmentId }).whereIn('name', ['k', 'x'.repeat(101)]).count<{ count: number }[]>({ count: '*' });
    expect(Number(row!.count)).toBe(0);
  });
});

describe('availableTo', () => {
  it('admins elsewhere neither see nor grant a resource server limited to other accounts; operators see its list', async () => {
    const limited = await resourceServer(['ledger'], { availableTo: [other.accountId] });
    const open = await resourceServer(['ledger']);
    expect((await call('get', `/resource-servers/${limited.id}`, operator)).body.availableTo).toEqual([other.accountId]);
    expect((await call('get', `/resource-servers/${open.id}`, operator)).body.availableTo).toBeNull();

    const seenBy = async (user: TestUser) => (await call('get', '/resource-servers', user)).body.data.map((server: { id: string }) => server.id);
    expect(await seenBy(envAdmin)).not.toContain(limited.id);
    expect(await seenBy(envAdmin)).toContain(open.id);
    expect(await seenBy(otherAdmin)).toContain(limited.id);
    expect((await call('get', `/resource-servers/${limited.id}`, envAdmin)).status).toBe(404);
    expect((await call('get', `/resource-servers/${limited.id}`, otherAdmin)).status).toBe(200);

    // Limited to two accounts: each one's admin sees its own id, never the other tenant's.
    const shared = await resourceServer(['ledger'], { availableTo: [tenant.accountId, other.accountId] });
    expect((await call('get', `/resource-servers/${shared.id}`, operator)).body.availableTo).toEqual([tenant.accountId, other.accountId]);
    expect((await call('get', `/resource-servers/${shared.id}`, envAdmin)).body.availableTo).toEqual([tenant.accountId]);
    const listedForOther = (await call('get', '/resource-servers', otherAdmin)).body.data.find((server: { id: string }) => server.id === shared.id);
    expect(listedForOther.availableTo).toEqual([other.accountId]);

    // The other account's admin grants it and gets tokens for it.
    const response = await call('post', `/environments/${other.environmentId}/keypairs`, otherAdmin, { name: 'ledger', grants: [{ resourceServer: limited.identifier, scopes: ['ledger'] }] });
    expect(response.status).toBe(201);
    expect((await requestToken(kg.http, response.body, { resource: limited.identifier })).status).toBe(200);

    const badAccount = await call('patch', `/resource-servers/${open.id}`, operator, { availableTo: [other.accountId, 'acc_nobody'] });
    expect(badAccount.status).toBe(400);
    expect(badAccount.body.errors).toEqual([{ field: 'availableTo[1]', message: 'is not an account' }]);
  });

  it('limiting a resource server removes the grants of keypairs of other accounts: their token requests get invalid_target', async () => {
    const server = await resourceServer(['ledger']);
    const keypair = await createKeypair({ grants: [{ resourceServer: server.identifier, scopes: ['ledger'] }] });
    expect((await requestToken(kg.http, keypair, { resource: server.identifier })).status).toBe(200);

    const limited = await call('patch', `/resource-servers/${server.id}`, operator, { availableTo: [other.accountId] });
    expect(limited.status).toBe(200);
    expect(limited.body.availableTo).toEqual([other.accountId]);
    const response = await requestToken(kg.http, keypair, { resource: server.identifier });
    expect(response.status).toBe(400);
    expect(response.body).toEqual({ error: 'invalid_target', error_description: 'unknown resource server' });
    expect((await call('get', `/keypairs/${keypair.clientId}`, envAdmin)).body.grants).toEqual([]);
  });
});

describe('narrowing revokes tokens already issued', () => {
  it('an old token’s status index is revoked once a scope is taken away; a new token carries a fresh, valid index', async () => {
    const verifier = createVerifier({ issuer: kg.issuer, audience: defaultServer, currentDate: kg.clock.alongsideRealTime });
    const keypair = await createKeypair({ scopes: ['read', 'write'] });
    const oldToken = (await requestToken(kg.http, keypair)).body.access_token as string;
    const oldReference = getStatusListFromJWT(oldToken);
    expect((await verifier.verify(oldToken, { scopes: ['write'] })).clientId).toBe(keypair.clientId);

    // Widening revokes nothing.
    const reports = await resourceServer(['export']);
    expect((await call('patch', `/keypairs/${keypair.clientId}`, envAdmin, { grants: [{ resourceServer: defaultServer, scopes: ['read', 'write'] }, { resourceServer: reports.identifier, scopes: ['export'] }] })).status).toBe(200);
    expect(getStatusListFromJWT((await requestToken(kg.http, keypair)).body.access_token).idx).toBe(oldReference.idx);

    expect((await call('patch', `/keypairs/${keypair.clientId}`, envAdmin, { scopes: ['read'] })).status).toBe(200);
    kg.clock.advance(2);
    const list = async (uri: string) => getListFromStatusListJWT((await kg.http.get(new URL(uri).pathname)).text);
    expect((await list(oldReference.uri)).getStatus(oldReference.idx)).toBe(1);

    const fresh = await requestToken(kg.http, keypair);
    expect(fresh.body.scope).toBe('read');
    const freshReference = getStatusListFromJWT(fresh.body.access_token);
    expect(freshReference.idx).not.toBe(oldReference.idx);
    expect((await list(freshReference.uri)).getStatus(freshReference.idx)).toBe(0);

    // At the resource server: the old token fails once the list's ttl has passed, the new one passes.
    kg.clock.advance(31);
    await expect(verifier.verify(oldToken)).rejects.toMatchObject({ code: 'token_revoked', status: 401 });
    expect((await verifier.verify(fresh.body.access_token)).clientId).toBe(keypair.clientId);
  });
});

describe('taking a scope out of a resource server’s catalogue', () => {
  it('takes it out of the grants there, revokes the holders’ tokens, and does not grant it again when it comes back', async () => {
    const server = await resourceServer(['ledger', 'audit']);
    const verifier = createVerifier({ issuer: kg.issuer, audience: server.identifier, currentDate: kg.clock.alongsideRealTime });
    const both = await createKeypair({ grants: [{ resourceServer: server.identifier, scopes: ['ledger', 'audit'] }] });
    const auditOnly = await createKeypair({ grants: [{ resourceServer: server.identifier, scopes: ['audit'] }] });
    const ledgerOnly = await createKeypair({ grants: [{ resourceServer: server.identifier, scopes: ['ledger'] }] });
    const oldToken = (await requestToken(kg.http, both, { resource: server.identifier })).body.access_token as string;
    const oldReference = getStatusListFromJWT(oldToken);
    const untouchedIdx = getStatusListFromJWT((await requestToken(kg.http, ledgerOnly, { resource: server.identifier })).body.access_token).idx;

    const patched = await call('patch', `/resource-servers/${server.id}`, operator, { scopes: [{ name: 'ledger', description: 'ledger' }] });
    expect(patched.status).toBe(200);
    const keypair = async (clientId: string) => (await call('get', `/keypairs/${clientId}`, envAdmin)).body;
    expect(await keypair(both.clientId)).toMatchObject({ version: 2, grants: [{ resourceServer: server.identifier, scopes: ['ledger'] }] });
    expect(await keypair(auditOnly.clientId)).toMatchObject({ version: 2, grants: [] });
    expect(await keypair(ledgerOnly.clientId)).toMatchObject({ version: 1, grants: [{ resourceServer: server.identifier, scopes: ['ledger'] }] });
    const [event] = await kg.keygate.db.knex('audit_events').where({ target_id: server.id, action: 'resource_server.updated' }).orderBy('id', 'desc').limit(1);
    expect([...event.after.grantsRemovedFrom].sort()).toEqual([auditOnly.clientId, both.clientId].sort());

    // The old token is revoked; a new one carries what is left, at a fresh index.
    expect((await requestToken(kg.http, both, { resource: server.identifier, scope: 'audit' })).body.error).toBe('invalid_scope');
    const fresh = await requestToken(kg.http, both, { resource: server.identifier });
    expect(fresh.body.scope).toBe('ledger');
    expect(getStatusListFromJWT(fresh.body.access_token).idx).not.toBe(oldReference.idx);
    expect(getStatusListFromJWT((await requestToken(kg.http, ledgerOnly, { resource: server.identifier })).body.access_token).idx).toBe(untouchedIdx);
    kg.clock.advance(31);
    await expect(verifier.verify(oldToken)).rejects.toMatchObject({ code: 'token_revoked', status: 401 });
    expect((await verifier.verify(fresh.body.access_token)).clientId).toBe(both.clientId);

    // Echoing the keypair's grants back is accepted; defining audit again grants it to no one.
    const echoed = await call('patch', `/keypairs/${both.clientId}`, envAdmin, { grants: (await keypair(both.clientId)).grants });
    expect(echoed.status).toBe(200);
    expect((await call('patch', `/resource-servers/${server.id}`, operator, { scopes: [{ name: 'ledger', description: 'ledger' }, { name: 'audit', description: 'audit' }] })).status).toBe(200);
    expect((await keypair(both.clientId)).grants).toEqual([{ resourceServer: server.identifier, scopes: ['ledger'] }]);
    expect((await keypair(auditOnly.clientId)).grants).toEqual([]);
    expect((await requestToken(kg.http, both, { resource: server.identifier, scope: 'audit' })).body.error).toBe('invalid_scope');
  });
});

describe('a stale catalogue', () => {
  it('lets no grant through at a resource server limited away from the account, nor of a scope taken out, when the change notice was lost', async () => {
    const server = await resourceServer(['ledger', 'audit']);
    const keypair = await createKeypair({ scopes: ['read'] });
    // Another process changed the server and its notice never arrived: this process's catalogue still has the old one.
    await kg.keygate.db.knex('resource_servers').where({ id: server.id }).update({ scopes: JSON.stringify([{ name: 'ledger', description: 'ledger' }]) });
    const ghostScope = await call('post', `/environments/${tenant.environmentId}/keypairs`, envAdmin, { name: 'stale', grants: [{ resourceServer: server.identifier, scopes: ['audit'] }] });
    expect(ghostScope.status).toBe(400);
    expect(ghostScope.body.errors).toEqual([{ field: 'grants[0].scopes[0]', message: `is not defined by ${server.identifier}` }]);

    await kg.keygate.db.knex('resource_servers').where({ id: server.id }).update({ available_to: [other.accountId] });
    const created = await call('post', `/environments/${tenant.environmentId}/keypairs`, envAdmin, { name: 'stale', grants: [{ resourceServer: server.identifier, scopes: ['ledger'] }] });
    expect(created.status).toBe(400);
    expect(created.body.errors).toEqual([{ field: 'grants[0].resourceServer', message: 'is not a resource server available to this account' }]);
    const patched = await call('patch', `/keypairs/${keypair.clientId}`, envAdmin, { grants: [{ resourceServer: server.identifier, scopes: ['ledger'] }] });
    expect(patched.status).toBe(400);
    expect(patched.body.errors).toEqual([{ field: 'grants[0].resourceServer', message: 'is not a resource server available to this account' }]);
    expect((await call('get', `/keypairs/${keypair.clientId}`, envAdmin)).body).toMatchObject({ version: 1, grants: [{ resourceServer: defaultServer, scopes: ['read'] }] });
    await kg.keygate.catalog.reload();
  });
});
