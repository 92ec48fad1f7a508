import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser, type TestUser } from '../support/admin.js';
import { createResourceServer, createTenant, startTestKeygate, type Tenant, type TestKeygate } from '../support/keygate.js';

/*
 * Validation comes from the contract's schemas in one pass: the shape of every field
 * and, for the grants whose shape is right, what the catalogue says of them, in one
 * answer; rules between fields run once the fields they read are valid.
 */

let kg: TestKeygate;
let tenant: Tenant;
let admin: TestUser;
let resource: string;

beforeAll(async () => {
  kg = await startTestKeygate();
  tenant = await createTenant(kg.keygate);
  admin = await createUser(kg.keygate, { environments: [tenant] });
  resource = await createResourceServer(kg.keygate, [`validation-${Date.now().toString(36)}:read`]);
});
afterAll(() => kg.close());

const keypairCount = async () => Number((await kg.keygate.db.knex('keypairs').where({ environment_id: tenant.environmentId }).count<Array<{ count: number }>>({ count: '*' }))[0]!.count);
const create = (body: object) => kg.http.post(`/admin/v1/environments/${tenant.environmentId}/keypairs`).set('Authorization', admin.bearer).send(body);

describe('keypair bodies: shape and catalogue in one answer', () => {
  it('names a grant of the wrong shape, an unknown resource server and an empty grant together', async () => {
    const before = await keypairCount();
    const response = await create({ name: 'k', grants: [{ resourceServer: 'https://nowhere.validation.test', scopes: ['read'] }, { resourceServer: resource, scopes: [] }, 'str'] });
    expect(response.status).toBe(400);
    expect(response.body.errors).toEqual([
      { field: 'grants[2]', message: 'must be {"resourceServer", "scopes"}' },
      { field: 'grants[0].resourceServer', message: 'is not a resource server available to this account' },
      { field: 'grants[1].scopes', message: 'must name at least one scope (leave the grant out to grant nothing there)' },
    ]);
    expect(await keypairCount()).toBe(before);
  });

  it('names a catalogue error by the grant\'s place in the request, past a grant of the wrong shape', async () => {
    const response = await create({ name: 'k', grants: [42, { resourceServer: resource, scopes: ['ghost'] }] });
    expect(response.status).toBe(400);
    expect(response.body.errors).toEqual([
      { field: 'grants[0]', message: 'must be {"resourceServer", "scopes"}' },
      { field: 'grants[1].scopes[0]', message: `is not defined by ${resource}` },
    ]);
  });

  it('checks the shorthand scopes against the catalogue even when a grant is of the wrong shape', async () => {
    const response = await create({ name: '', scopes: ['no-such-scope'], grants: 'all' });
    expect(response.status).toBe(400);
    expect(response.body.errors).toEqual([
      { field: 'name', message: 'must be 1 to 100 characters' },
      { field: 'grants', message: 'must be an array of {"resourceServer", "scopes"}' },
      { field: 'scopes', message: expect.stringMatching(/^not defined by the default resource server \(.+\): no-such-scope$/) },
    ]);
  });
});

describe('rules between fields', () => {
  it('a disabledReason without "enabled": false is named with the other bad fields', async () => {
    const created = await create({ name: 'target', scopes: [] });
    expect(created.status).toBe(201);
    const response = await kg.http.patch(`/admin/v1/keypairs/${created.body.clientId}`).set('Authorization', admin.bearer).send({ name: ' ', disabledReason: 'why' });
    expect(response.status).toBe(400);
    expect(response.body.errors).toEqual([
      { field: 'name', message: 'must be 1 to 100 characters' },
      { field: 'disabledReason', message: 'goes with "enabled": false' },
    ]);
  });

  it('expiresAt and expiresIn together are named once both are valid, and not otherwise', async () => {
    const both = await create({ name: 'k', scopes: [], expiresAt: null, expiresIn: '7d' });
    expect(both.body.errors).toEqual([{ field: 'expiresIn', message: 'give expiresAt or expiresIn, not both' }]);
    const badDate = await create({ name: 'k', scopes: [], expiresAt: '2027-02-30T00:00:00Z', expiresIn: '7d' });
    expect(badDate.body.errors).toEqual([{ field: 'expiresAt', message: 'is not a real date' }]);
  });
});

describe('query strings', () => {
  it('read as the schema says: whole numbers and booleans from text, a repeated parameter refused', async () => {
    const list = (query: string) => kg.http.get(`/admin/v1/environments/${tenant.environmentId}/keypairs?${query}`).set('Authorization', admin.bearer);
    expect((await list('limit=2&enabled=true')).status).toBe(200);
    const response = await list('limit=1e2&enabled=TRUE&q=a&q=b&sort=name');
    expect(response.status).toBe(400);
    expect(response.body.errors).toEqual([
      { field: 'limit', message: 'must be a whole number from 1 to 100' },
      { field: 'enabled', message: 'must be true or false' },
      { field: 'sort', message: 'is not a known field' },
      { field: 'q', message: 'must be given once' },
    ]);
  });
});
