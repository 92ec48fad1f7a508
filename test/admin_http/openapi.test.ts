import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { Response } from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Authenticator } from '../../src/access/authenticate.js';
import { openApiDocument } from '../../src/admin_http/openapi.js';
import { ADMIN_PREFIX, adminRouter } from '../../src/admin_http/router.js';
import { UsageReport } from '../../src/usage/report.js';
import { AuditHistory } from '../../src/audit/query.js';
import { grantsAtServer } from '../../src/keypairs/grant_store.js';
import { ResourceServerService } from '../../src/resource_servers/service.js';
import { TrustedIssuerService } from '../../src/federation/service.js';
import { createLogger } from '../../src/shared/log.js';
import { createUser, type TestUser } from '../support/admin.js';
import { createResourceServer, createTenant, requestToken, startTestKeygate, TEST_ISSUER, type Tenant, type TestKeygate } from '../support/keygate.js';

/*
 * The admin API and its OpenAPI document, kept true to each other: the router's
 * routes are the document's operations, and every answer below, success or
 * failure, is checked against what the document says for its route and status.
 */

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';
const METHODS: readonly Method[] = ['get', 'post', 'put', 'patch', 'delete'];
type Json = Record<string, unknown>;

interface Operation {
  operationId: string;
  parameters?: Json[];
  requestBody?: { required: boolean; content: Record<string, { schema: Json }> };
  responses: Record<string, Json>;
  security?: unknown[];
}
type PathItem = Partial<Record<Method, Operation>> & { parameters?: Json[] };
interface Document {
  openapi: string;
  servers: Array<{ url: string }>;
  security: unknown[];
  paths: Record<string, PathItem>;
  components: { schemas: Record<string, Json>; parameters: Record<string, Json>; responses: Record<string, Json>; headers: Record<string, Json>; securitySchemes: Record<string, Json> };
}

// JSON round trip: the document as a client receives it, not the objects the server holds.
const doc = JSON.parse(JSON.stringify(openApiDocument(TEST_ISSUER))) as Document;

let kg: TestKeygate;
let tenant: Tenant;
let scope: string;
let resource: string;
let operator: TestUser;
let accountAdmin: TestUser;
let environmentAdmin: TestUser;
let outsider: TestUser;

beforeAll(async () => {
  kg = await startTestKeygate({ MAX_ACTIVE_KEYPAIRS: '3' });
  tenant = await createTenant(kg.keygate);
  const other = await createTenant(kg.keygate);
  scope = `openapi-${Date.now().toString(36)}:read`;
  resource = await createResourceServer(kg.keygate, [scope]);
  operator = await createUser(kg.keygate, { operator: true });
  accountAdmin = await createUser(kg.keygate, { accounts: [tenant.accountId] });
  environmentAdmin = await createUser(kg.keygate, { environments: [tenant] });
  outsider = await createUser(kg.keygate, { accounts: [other.accountId] });
});
afterAll(() => kg.close());

// ---------------------------------------------------------------------------
// Reading the document: $ref resolution and ajv validators of its schemas.

function resolve(node: Json): Json {
  const ref = node.$ref;
  if (typeof ref !== 'string') return node;
  expect(ref, 'only local references').toMatch(/^#\//);
  let target: unknown = doc;
  for (const part of ref.slice(2).split('/')) {
    target = (target as Json | undefined)?.[part.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  expect(target, `${ref} resolves`).toBeTypeOf('object');
  return resolve(target as Json);
}

const SCHEMAS_ID = 'urn:keygate:admin-openapi';

/** Points `#/components/schemas/X` at the copy of the component schemas ajv holds. */
function retarget(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(retarget);
  if (typeof node !== 'object' || node === null) return node;
  return Object.fromEntries(
    Object.entries(node).map(([key, value]) => [
      key,
      key === '$ref' && typeof value === 'string' ? value.replace('#/components/schemas/', `${SCHEMAS_ID}#/$defs/`) : retarget(value),
    ]),
  );
}

// strict: a keyword ajv does not know, or a schema it finds ambiguous, fails the compile.
const ajv = new Ajv2020({ strict: true, allErrors: true, allowUnionTypes: true });
addFormats.default(ajv);
ajv.addSchema({ $id: SCHEMAS_ID, $defs: retarget(doc.components.schemas) as Json });
const validators = new Map<Json, ValidateFunction>();

function validatorFor(schema: Json): ValidateFunction {
  let validate = validators.get(schema);
  if (!validate) {
    validate = ajv.compile(retarget(schema) as Json);
    validators.set(schema, validate);
  }
  return validate;
}

function validates(schema: Json, value: unknown): string | true {
  const validate = validatorFor(schema);
  return validate(value) ? true : ajv.errorsText(validate.errors, { separator: '; ' });
}

function operationOf(method: Method, template: string): Operation {
  const operation = doc.paths[template]?.[method];
  expect(operation, `${method.toUpperCase()} ${template} is documented`).toBeDefined();
  return operation!;
}

/** Path-item and operation parameters together, resolved. */
function parametersOf(method: Method, template: string): Json[] {
  return [...(doc.paths[template]?.parameters ?? []), ...(operationOf(method, template).parameters ?? [])].map(resolve);
}

/** Query strings are strings: read them as the documented type says before validating. */
function coerce(schema: Json, value: string): unknown {
  if (schema.type === 'integer' && /^-?\d+$/.test(value)) return Number(value);
  if (schema.type === 'boolean' && (value === 'true' || value === 'false')) return value === 'true';
  return value;
}

/** Whether the document accepts this query: every name documented, every value valid. */
function documentedQueryAccepts(method: Method, template: string, query: Record<string, string>): boolean {
  const documented = new Map(parametersOf(method, template).filter((parameter) => parameter.in === 'query').map((parameter) => [parameter.name as string, parameter.schema as Json]));
  return Object.entries(query).every(([name, value]) => documented.has(name) && validates(documented.get(name)!, coerce(documented.get(name)!, value)) === true);
}

function requestSchemaOf(method: Method, template: string): Json | undefined {
  return operationOf(method, template).requestBody?.content['application/json']?.schema;
}

// ---------------------------------------------------------------------------
// Calling the API: every answer is checked against the document.

type Caller = TestUser | 'anonymous' | { bearer: string };

interface CallOptions {
  params?: Record<string, string>;
  query?: Record<string, string>;
  body?: unknown;
  /** A body sent as is, with this content type. */
  raw?: { type: string; data: string };
  headers?: Record<string, string>;
}

/** `METHOD template` -> statuses seen, for the coverage check at the end. */
const seen = new Map<string, Set<number>>();

async function call(expected: number, who: Caller, method: Method, template: string, options: CallOptions = {}): Promise<Response> {
  const url = ADMIN_PREFIX + template.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = options.params?.[name];
    expect(value, `a value for {${name}}`).toBeDefined();
    return encodeURIComponent(value!);
  });
  let request = kg.http[method](url);
  if (who !== 'anonymous') request = request.set('Authorization', who.bearer);
  for (const [name, value] of Object.entries(options.headers ?? {})) request = request.set(name, value);
  if (options.query) request = request.query(options.query);
  if (options.raw) request = request.set('Content-Type', options.raw.type).send(options.raw.data);
  else if (options.body !== undefined) request = request.send(options.body as object);
  const response = await request;

  const label = `${method.toUpperCase()} ${template}`;
  expect(response.status, `${label}: ${response.text}`).toBe(expected);
  expectDocumented(method, template, response);
  if (response.status < 300) expectRequestDocumented(method, template, options);
  const statuses = seen.get(label) ?? new Set<number>();
  seen.set(label, statuses.add(response.status));
  return response;
}

function expectDocumented(method: Method, template: string, response: Response): void {
  const label = `${method.toUpperCase()} ${template} ${response.status}`;
  const documented = operationOf(method, template).responses[String(response.status)];
  expect(documented, `${label} is a documented status`).toBeDefined();
  const spec = resolve(documented!);

  const content = (spec.content ?? {}) as Record<string, { schema: Json }>;
  const contentType = response.headers['content-type'] as string | undefined;
  if (Object.keys(content).length === 0) {
    expect(contentType, `${label} has no body`).toBeUndefined();
    expect(response.text ?? '', `${label} has no body`).toBe('');
  } else {
    const mediaType = contentType?.split(';')[0]!.trim();
    expect(Object.keys(content), `${label} content type`).toContain(mediaType);
    expect(validates(content[mediaType!]!.schema, response.body), `${label} body ${response.text}`).toBe(true);
    if (mediaType === 'application/problem+json') expect(response.body.status, label).toBe(response.status);
  }

  for (const [name, header] of Object.entries((spec.headers ?? {}) as Record<string, Json>)) {
    const resolved = resolve(header);
    const value = response.headers[name.toLowerCase()] as string | undefined;
    if (resolved.required) expect(value, `${label} header ${name}`).toBeDefined();
    if (value !== undefined) expect(validates(resolved.schema as Json, value), `${label} header ${name}: ${value}`).toBe(true);
  }
}

/** What the server accepted, the document must accept too (else it is stricter than the route). */
function expectRequestDocumented(method: Method, template: string, options: CallOptions): void {
  const label = `${method.toUpperCase()} ${template}`;
  if (options.query) expect(documentedQueryAccepts(method, template, options.query), `${label} query ${JSON.stringify(options.query)}`).toBe(true);
  const headers = new Set(parametersOf(method, template).filter((parameter) => parameter.in === 'header').map((parameter) => String(parameter.name).toLowerCase()));
  for (const name of Object.keys(options.headers ?? {})) expect(headers.has(name.toLowerCase()), `${label} documents header ${name}`).toBe(true);
  if (options.body === undefined) return;
  const schema = requestSchemaOf(method, template);
  expect(schema, `${label} documents a request body`).toBeDefined();
  expect(validates(schema!, options.body), `${label} request ${JSON.stringify(options.body)}`).toBe(true);
}

/** Sends a body the route refuses with 400 and checks the documented request schema refuses it too. */
async function refused(who: Caller, method: Method, template: string, params: Record<string, string>, body: Json): Promise<Response> {
  const schema = requestSchemaOf(method, template)!;
  expect(validates(schema, body), `the document refuses ${JSON.stringify(body).slice(0, 80)} for ${method.toUpperCase()} ${template}`).not.toBe(true);
  const response = await call(400, who, method, template, { params, body });
  expect(response.body.code).toBe('validation_failed');
  return response;
}

/** Every (method, template) the admin router registers, HEAD and the middleware layers left out. */
function registeredRoutes(): string[] {
  const { keygate } = kg;
  const router = adminRouter({
    authenticator: new Authenticator(keygate.db.knex, keygate.config, keygate.keySet),
    keypairs: keygate.keypairs,
    tenancy: keygate.tenancy,
    resourceServers: new ResourceServerService({ db: keygate.db.knex, changes: keygate.changes, catalog: keygate.catalog, clock: kg.clock, grants: grantsAtServer }),
    trustedIssuers: new TrustedIssuerService({ db: keygate.db.knex, changes: keygate.changes, clock: kg.clock }),
    history: new AuditHistory(keygate.db.knex),
    usage: new UsageReport(keygate.db.knex, kg.clock, undefined),
    clock: kg.clock,
    log: createLogger('silent'),
    issuer: TEST_ISSUER,
    trustProxyHops: 0,
  });
  const routes = new Set<string>();
  for (const layer of router.stack) {
    // router.use() middleware (authentication, allowedMethods) has no methods: not a route.
    if (layer.methods.length === 0) continue;
    expect(layer.path, 'routes are string paths').toBeTypeOf('string');
    expect(String(layer.path).startsWith(`${ADMIN_PREFIX}/`)).toBe(true);
    const template = String(layer.path).slice(ADMIN_PREFIX.length).replace(/:(\w+)/g, '{$1}');
    for (const method of layer.methods) if (method !== 'HEAD') routes.add(`${method} ${template}`);
  }
  return [...routes].sort();
}

function documentedOperations(): Array<{ method: Method; template: string }> {
  return Object.entries(doc.paths).flatMap(([template, item]) => METHODS.filter((method) => item[method] !== undefined).map((method) => ({ method, template })));
}

/** Values for every path parameter of a template, e.g. ids that exist nowhere. */
function paramsFor(template: string, value: (name: string) => string): Record<string, string> {
  return Object.fromEntries([...template.matchAll(/\{(\w+)\}/g)].map(([, name]) => [name!, value(name!)]));
}

const MISSING_IDS: Record<string, string> = {
  accountId: 'acc_0000000000000000000000',
  environmentId: 'env_0000000000000000000000',
  clientId: 'kp_0000000000000000000000',
  userId: 'usr_0000000000000000000000',
  id: 'rs_0000000000000000000000',
};

async function createKeypair(who: TestUser, owner: 'accounts' | 'environments', body: Json = {}): Promise<Json> {
  const params: Record<string, string> = owner === 'accounts' ? { accountId: tenant.accountId } : { environmentId: tenant.environmentId };
  const response = await call(201, who, 'post', `/${owner}/{${owner === 'accounts' ? 'accountId' : 'environmentId'}}/keypairs`, { params, body: { name: 'contract', grants: [{ resourceServer: resource, scopes: [scope] }], ...body } });
  return response.body as Json;
}

// ---------------------------------------------------------------------------

describe('the document', () => {
  it('is served at /admin/v1/openapi.json without authentication, as openApiDocument builds it', async () => {
    const response = await call(200, 'anonymous', 'get', '/openapi.json');
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    expect(response.body).toEqual(doc);
    expect(response.body.openapi).toBe('3.1.0');
    expect(response.body.servers).toEqual([{ url: `${TEST_ISSUER}/admin/v1` }]);
  });

  it('documents exactly the routes the admin router registers', () => {
    const documented = documentedOperations().map(({ method, template }) => `${method.toUpperCase()} ${template}`).sort();
    const registered = registeredRoutes();
    expect(registered.length).toBeGreaterThan(30);
    expect(documented).toEqual(registered);
  });

  it('is coherent: references resolve, schemas compile, path parameters match their templates', () => {
    const operationIds = new Set<string>();
    for (const { method, template } of documentedOperations()) {
      const operation = operationOf(method, template);
      expect(operationIds.has(operation.operationId), operation.operationId).toBe(false);
      operationIds.add(operation.operationId);

      const parameters = parametersOf(method, template);
      const inPath = parameters.filter((parameter) => parameter.in === 'path').map((parameter) => parameter.name).sort();
      expect(inPath, `${method} ${template}`).toEqual([...template.matchAll(/\{(\w+)\}/g)].map(([, name]) => name).sort());
      for (const parameter of parameters) validatorFor(parameter.schema as Json);
      const body = requestSchemaOf(method, template);
      if (body) validatorFor(body);

      expect(Object.keys(operation.responses).length, `${method} ${template} responses`).toBeGreaterThan(0);
      for (const [status, response] of Object.entries(operation.responses)) {
        expect(status).toMatch(/^[1-5]\d\d$/);
        const resolved = resolve(response);
        expect(resolved.description, `${method} ${template} ${status}`).toBeTypeOf('string');
        for (const media of Object.values((resolved.content ?? {}) as Record<string, { schema: Json }>)) validatorFor(media.schema);
        for (const header of Object.values((resolved.headers ?? {}) as Record<string, Json>)) validatorFor(resolve(header).schema as Json);
        // Every failure is a Problem, and only as problem+json.
        if (Number(status) >= 400) expect(resolved.content).toEqual({ 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } });
      }
    }
    for (const name of Object.keys(doc.components.schemas)) validatorFor({ $ref: `#/components/schemas/${name}` });
  });

  it('asks for a bearer JWT everywhere but on itself', () => {
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
    expect(doc.security).toEqual([{ bearerAuth: [] }]);
    for (const { method, template } of documentedOperations()) {
      const operation = operationOf(method, template);
      if (template === '/openapi.json') expect(operation.security).toEqual([]);
      else {
        expect(operation.security, `${method} ${template}`).toBeUndefined();
        expect(operation.responses['401'], `${method} ${template} documents 401`).toEqual({ $ref: '#/components/responses/Unauthorized' });
      }
    }
  });

  it('closes every response object schema, so an undocumented field fails', () => {
    const open: string[] = [];
    const visit = (node: unknown, where: string): void => {
      if (typeof node !== 'object' || node === null) return;
      const schema = node as Json;
      if (schema.type === 'object' && schema.properties !== undefined && schema.additionalProperties !== false) open.push(where);
      for (const [key, value] of Object.entries(schema)) visit(value, `${where}/${key}`);
    };
    visit(doc.components.schemas, '#/components/schemas');
    expect(open).toEqual([]);
  });
});

describe('every route answers as documented', () => {
  it('401 with a WWW-Authenticate challenge on every operation, without a token or with a bad one', async () => {
    for (const { method, template } of documentedOperations()) {
      if (template === '/openapi.json') continue;
      const params = paramsFor(template, (name) => MISSING_IDS[name]!);
      const bare = await call(401, 'anonymous', method, template, { params });
      expect(bare.headers['www-authenticate']).toBe('Bearer');
      const bad = await call(401, { bearer: 'Bearer not.a.jwt' }, method, template, { params });
      expect(bad.headers['www-authenticate']).toMatch(/^Bearer error="invalid_token"/);
    }
  });

  it('404 for ids that exist nowhere, on every operation with a path parameter', async () => {
    for (const { method, template } of documentedOperations()) {
      if (!template.includes('{')) continue;
      const response = await call(404, operator, method, template, { params: paramsFor(template, (name) => MISSING_IDS[name]!), ...(method === 'patch' || method === 'post' ? { body: {} } : {}) });
      expect(response.body.code).toBe('not_found');
    }
  });

  it('keypairs: the whole life of one, as an account admin and as an environment admin', async () => {
    const accountLevel = await createKeypair(accountAdmin, 'accounts', { comment: 'account level', expiresIn: '30d' });
    expect(accountLevel.environmentId).toBeNull();
    const created = await createKeypair(environmentAdmin, 'environments', { expiresAt: new Date(Date.now() + 86_400_000).toISOString() });
    const clientId = created.clientId as string;
    expect(created.clientSecret).toMatch(/^kgs_/);

    const token = await requestToken(kg.http, { clientId, clientSecret: created.clientSecret as string }, { scope, resource });
    expect(token.status).toBe(200);
    const usage = await call(200, environmentAdmin, 'get', '/keypairs/{clientId}/usage', { params: { clientId } });
    expect(usage.body.last24h).toEqual({ issued: 1, refused: 0 });
    expect(usage.body.recentRequests[0]).toMatchObject({ outcome: 'issued', scope, resource });

    const listed = await call(200, environmentAdmin, 'get', '/environments/{environmentId}/keypairs', { params: { environmentId: tenant.environmentId }, query: { limit: '1', enabled: 'true', q: 'contract' } });
    expect(listed.body.data).toHaveLength(1);
    expect(listed.body.nextCursor).toBeTypeOf('string');
    await call(200, environmentAdmin, 'get', '/environments/{environmentId}/keypairs', { params: { environmentId: tenant.environmentId }, query: { cursor: listed.body.nextCursor } });
    const accountList = await call(200, accountAdmin, 'get', '/accounts/{accountId}/keypairs', { params: { accountId: tenant.accountId } });
    expect(accountList.body.data.map((keypair: Json) => keypair.clientId)).toContain(accountLevel.clientId);
    expect(accountList.body.nextCursor).toBeNull();

    const read = await call(200, accountAdmin, 'get', '/keypairs/{clientId}', { params: { clientId } });
    expect(read.headers.etag).toBe(`"${created.version}"`);
    expect(read.body).not.toHaveProperty('clientSecret');

    const disabled = await call(200, environmentAdmin, 'patch', '/keypairs/{clientId}', {
      params: { clientId },
      headers: { 'If-Match': read.headers.etag! },
      body: { name: 'renamed', comment: 'now disabled', scopes: ['read'], grants: [{ resourceServer: resource, scopes: [scope] }], rateLimitPerMinute: 120, allowedIps: ['127.0.0.1', '::1', '10.0.0.0/8'], autoDisable: true, enabled: false, disabledReason: 'leaked' },
    });
    expect(disabled.body).toMatchObject({ enabled: false, disabledReason: 'leaked', disabledAt: expect.any(String), version: 2, rateLimitPerMinute: 120, autoDisable: true });
    await call(200, environmentAdmin, 'patch', '/keypairs/{clientId}', { params: { clientId }, body: { enabled: true } });

    const rotated = await call(200, environmentAdmin, 'post', '/keypairs/{clientId}/rotate', { params: { clientId }, body: { gracePeriodSeconds: 60 } });
    expect(rotated.body.clientSecret).not.toBe(created.clientSecret);
    await call(200, accountAdmin, 'post', '/keypairs/{clientId}/rotate', { params: { clientId } });

    const history = await call(200, environmentAdmin, 'get', '/keypairs/{clientId}/events', { params: { clientId }, query: { limit: '100' } });
    expect(history.body.data.map((event: Json) => event.action)).toEqual(['keypair.rotated', 'keypair.rotated', 'keypair.enabled', 'keypair.updated', 'keypair.created']);
    await call(200, accountAdmin, 'get', '/keypairs/{clientId}/events', {
      params: { clientId },
      query: { action: 'keypair.rotated', actor: accountAdmin.id, environment: tenant.environmentId, from: '2000-01-01T00:00:00Z', to: '2999-01-01T00:00:00Z', limit: '1' },
    });

    await call(204, environmentAdmin, 'delete', '/keypairs/{clientId}', { params: { clientId } });
    await call(404, environmentAdmin, 'get', '/keypairs/{clientId}', { params: { clientId } });
    const afterDelete = await call(200, environmentAdmin, 'get', '/keypairs/{clientId}/events', { params: { clientId } });
    expect(afterDelete.body.data[0].action).toBe('keypair.deleted');
    await call(204, accountAdmin, 'delete', '/keypairs/{clientId}', { params: { clientId: accountLevel.clientId as string } });
  });

  it('keypairs: 400, 404 out of reach, 409 at the cap, 412, 413 and 415', async () => {
    const created = await createKeypair(accountAdmin, 'environments');
    const clientId = created.clientId as string;
    const environment = { environmentId: tenant.environmentId };

    // Out of reach reads exactly like missing: an environment admin and the account's keypairs, another account's admin.
    await call(404, environmentAdmin, 'get', '/accounts/{accountId}/keypairs', { params: { accountId: tenant.accountId } });
    await call(404, environmentAdmin, 'post', '/accounts/{accountId}/keypairs', { params: { accountId: tenant.accountId }, body: { name: 'x', scopes: [] } });
    for (const template of ['/keypairs/{clientId}', '/keypairs/{clientId}/events', '/keypairs/{clientId}/usage'] as const) await call(404, outsider, 'get', template, { params: { clientId } });
    await call(404, outsider, 'patch', '/keypairs/{clientId}', { params: { clientId }, body: { name: 'mine' } });
    await call(404, outsider, 'post', '/keypairs/{clientId}/rotate', { params: { clientId } });
    await call(404, outsider, 'delete', '/keypairs/{clientId}', { params: { clientId } });
    await call(404, outsider, 'get', '/environments/{environmentId}/keypairs', { params: environment });

    await call(400, environmentAdmin, 'get', '/environments/{environmentId}/keypairs', { params: environment, query: { cursor: 'not-a-cursor' } });
    await call(400, environmentAdmin, 'get', '/keypairs/{clientId}/events', { params: { clientId }, query: { cursor: 'not-a-cursor' } });
    const unknownScope = await call(400, environmentAdmin, 'post', '/environments/{environmentId}/keypairs', { params: environment, body: { name: 'k', scopes: ['no-such-scope-anywhere'] } });
    expect(unknownScope.body.errors).toEqual([{ field: 'scopes', message: expect.stringContaining('no-such-scope-anywhere') }]);
    await call(400, environmentAdmin, 'patch', '/keypairs/{clientId}', { params: { clientId }, headers: { 'If-Match': 'v1' }, body: { name: 'x' } });
    await refused(environmentAdmin, 'patch', '/keypairs/{clientId}', { clientId }, { rateLimitPerMinute: 10 });
    const badIps = await call(400, environmentAdmin, 'patch', '/keypairs/{clientId}', { params: { clientId }, body: { allowedIps: ['10.0.0.1/8'] } });
    expect(badIps.body.errors).toEqual([{ field: 'allowedIps', message: expect.stringContaining('item 0') }]);
    await call(400, environmentAdmin, 'post', '/keypairs/{clientId}/rotate', { params: { clientId }, raw: { type: 'application/json', data: '{"gracePeriodSeconds":' } });

    const stale = await call(412, environmentAdmin, 'patch', '/keypairs/{clientId}', { params: { clientId }, headers: { 'If-Match': '"99"' }, body: { comment: 'stale' } });
    expect(stale.body.code).toBe('precondition_failed');

    const big = { name: 'big', scopes: [], comment: 'x'.repeat(70_000) };
    await call(413, environmentAdmin, 'post', '/environments/{environmentId}/keypairs', { params: environment, body: big });
    await call(413, accountAdmin, 'post', '/accounts/{accountId}/keypairs', { params: { accountId: tenant.accountId }, body: big });
    await call(413, environmentAdmin, 'patch', '/keypairs/{clientId}', { params: { clientId }, body: big });
    await call(413, environmentAdmin, 'post', '/keypairs/{clientId}/rotate', { params: { clientId }, body: big });
    const notJson = { type: 'text/plain', data: 'name=x' };
    await call(415, environmentAdmin, 'post', '/environments/{environmentId}/keypairs', { params: environment, raw: notJson });
    await call(415, accountAdmin, 'post', '/accounts/{accountId}/keypairs', { params: { accountId: tenant.accountId }, raw: notJson });
    await call(415, environmentAdmin, 'patch', '/keypairs/{clientId}', { params: { clientId }, raw: notJson });
    await call(415, environmentAdmin, 'post', '/keypairs/{clientId}/rotate', { params: { clientId }, raw: notJson });

    // MAX_ACTIVE_KEYPAIRS is 3 here: a fresh environment takes three, refuses the fourth and a re-enable past the cap.
    const full = await call(201, accountAdmin, 'post', '/accounts/{accountId}/environments', { params: { accountId: tenant.accountId }, body: { name: 'full' } });
    const fullEnvironment = { environmentId: full.body.id as string };
    const first = await call(201, accountAdmin, 'post', '/environments/{environmentId}/keypairs', { params: fullEnvironment, body: { name: 'one', scopes: [] } });
    await call(200, accountAdmin, 'patch', '/keypairs/{clientId}', { params: { clientId: first.body.clientId }, body: { enabled: false } });
    for (const name of ['two', 'three', 'four']) await call(201, accountAdmin, 'post', '/environments/{environmentId}/keypairs', { params: fullEnvironment, body: { name, scopes: [] } });
    const capped = await call(409, accountAdmin, 'post', '/environments/{environmentId}/keypairs', { params: fullEnvironment, body: { name: 'five', scopes: [] } });
    expect(capped.body.code).toBe('limit_reached');
    await call(409, accountAdmin, 'patch', '/keypairs/{clientId}', { params: { clientId: first.body.clientId }, body: { enabled: true } });
    const fullAccount = { accountId: (await call(201, operator, 'post', '/accounts', { body: { name: 'full' } })).body.id as string };
    for (const name of ['one', 'two', 'three']) await call(201, operator, 'post', '/accounts/{accountId}/keypairs', { params: fullAccount, body: { name, scopes: [] } });
    await call(409, operator, 'post', '/accounts/{accountId}/keypairs', { params: fullAccount, body: { name: 'four', scopes: [] } });
  });

  it('request limits: what the routes refuse, the document refuses; the edges they take, it takes', async () => {
    // A fresh environment, so the keypairs made here stay under MAX_ACTIVE_KEYPAIRS.
    const fresh = await call(201, operator, 'post', '/accounts/{accountId}/environments', { params: { accountId: tenant.accountId }, body: { name: 'limits' } });
    const environment = { environmentId: fresh.body.id as string };
    const create = ['post', '/environments/{environmentId}/keypairs'] as const;
    for (const body of [
      { scopes: [] },
      { name: '', scopes: [] },
      { name: 'x'.repeat(101), scopes: [] },
      { name: 'k', scopes: [], comment: 'c'.repeat(1001) },
      { name: 'k', scopes: 'read' },
      { name: 'k', scopes: [scope, scope] },
      { name: 'k', scopes: ['has space'] },
      { name: 'k', scopes: [], expiresIn: '2w' },
      { name: 'k', scopes: [], expiresIn: 59 },
      { name: 'k', scopes: [], expiresIn: 315_360_001 },
      { name: 'k', scopes: [], expiresAt: 'tomorrow' },
      { name: 'k', scopes: [], expiresAt: '2099-01-01T00:00:00Z', expiresIn: '1d' },
      { name: 'k', scopes: [], color: 'blue' },
      { name: 'k', grants: [{ resourceServer: resource, scopes: [] }] },
      { name: 'k', grants: [{ resourceServer: resource }] },
      { name: 'k', grants: [{ resourceServer: resource, scopes: [scope], extra: 1 }] },
      { name: 'k', grants: { resourceServer: resource, scopes: [scope] } },
      { name: 'k', grants: [{ resourceServer: resource, scopes: [scope, scope] }] },
    ]) {
      await refused(accountAdmin, ...create, environment, body);
    }
    const edge = await call(201, accountAdmin, ...create, { params: environment, body: { name: 'x'.repeat(100), comment: 'c'.repeat(1000), scopes: [], expiresIn: 60 } });
    await call(201, accountAdmin, ...create, { params: environment, body: { name: 'k', scopes: ['read'], grants: [{ resourceServer: resource, scopes: [scope] }], expiresIn: '3600' } });
    await call(201, accountAdmin, ...create, { params: environment, body: { name: 'k', scopes: [], expiresAt: null } });
    const clientId = edge.body.clientId as string;
    await call(200, accountAdmin, 'patch', '/keypairs/{clientId}', { params: { clientId }, body: { enabled: false } });
    await call(200, accountAdmin, 'patch', '/keypairs/{clientId}', { params: { clientId }, body: {} });

    for (const body of [{ disabledReason: 'why' }, { enabled: true, disabledReason: 'why' }, { enabled: false, disabledReason: 'r'.repeat(501) }, { enabled: 'no' }, { name: ' ' }]) {
      await refused(accountAdmin, 'patch', '/keypairs/{clientId}', { clientId }, body);
    }
    for (const body of [{ gracePeriodSeconds: -1 }, { gracePeriodSeconds: 604_801 }, { gracePeriodSeconds: 1.5 }, { gracePeriodSeconds: '60' }, { grace: 60 }]) {
      await refused(accountAdmin, 'post', '/keypairs/{clientId}/rotate', { clientId }, body);
    }
    await call(200, accountAdmin, 'post', '/keypairs/{clientId}/rotate', { params: { clientId }, body: { gracePeriodSeconds: 604_800 } });

    for (const body of [{}, { name: '' }, { name: 'n'.repeat(101) }, { name: 7 }]) await refused(operator, 'post', '/accounts', {}, body);
    for (const body of [{}, { email: 'nope' }, { email: 'a@b.test', name: 'n'.repeat(101) }, { email: 'a@b.test', isOperator: 'yes' }]) await refused(operator, 'post', '/users', {}, body);
    for (const body of [
      { identifier: 'https://x.test/', name: 'x', scopes: [], accessTokenTtl: 59 },
      { identifier: 'https://x.test/', name: 'x', scopes: [], accessTokenTtl: 86_401 },
      { identifier: 'https://x.test/', name: 'x', scopes: [{ name: 'a', extra: 1 }] },
      { identifier: 'https://x.test/', name: 'x', scopes: [{ name: 'a', description: 'd'.repeat(501) }] },
      { identifier: 'not a uri', name: 'x', scopes: [] },
      { name: 'x', scopes: [] },
      { identifier: 'https://x.test/', name: 'x', scopes: [], availableTo: 'acc_x' },
      { identifier: 'https://x.test/', name: 'x', scopes: [], availableTo: ['acc_x', 'acc_x'] },
    ]) {
      await refused(operator, 'post', '/resource-servers', {}, body);
    }

    // Query parameters: the route's 400s are outside what the document allows.
    const badListQueries: Array<Record<string, string>> = [{ limit: '0' }, { limit: '101' }, { limit: 'ten' }, { enabled: 'yes' }, { q: 'q'.repeat(101) }, { color: 'blue' }];
    for (const query of badListQueries) {
      expect(documentedQueryAccepts('get', '/environments/{environmentId}/keypairs', query), JSON.stringify(query)).toBe(false);
      await call(400, accountAdmin, 'get', '/environments/{environmentId}/keypairs', { params: environment, query });
    }
    const badEventQueries: Array<Record<string, string>> = [{ from: 'yesterday' }, { to: '2027-13-45T00:00:00Z' }, { limit: '0' }, { actor: 'a'.repeat(101) }];
    for (const query of badEventQueries) {
      expect(documentedQueryAccepts('get', '/accounts/{accountId}/events', query), JSON.stringify(query)).toBe(false);
      await call(400, accountAdmin, 'get', '/accounts/{accountId}/events', { params: { accountId: tenant.accountId }, query });
    }
    await call(200, accountAdmin, 'get', '/accounts/{accountId}/events', { params: { accountId: tenant.accountId }, query: { limit: '100' } });
  });

  it('accounts, environments and admin grants, as an operator and as an account admin', async () => {
    const created = await call(201, operator, 'post', '/accounts', { body: { name: 'OpenAPI Inc' } });
    const accountId = created.body.id as string;
    expect(created.headers.location).toBe(`/admin/v1/accounts/${accountId}`);
    const listed = await call(200, operator, 'get', '/accounts');
    expect(listed.body.data.map((account: Json) => account.id)).toContain(accountId);
    await call(200, operator, 'get', '/accounts/{accountId}', { params: { accountId } });
    await call(200, operator, 'patch', '/accounts/{accountId}', { params: { accountId }, body: { name: 'OpenAPI Corp' } });

    const environment = await call(201, operator, 'post', '/accounts/{accountId}/environments', { params: { accountId }, body: { name: 'staging' } });
    const environmentId = environment.body.id as string;
    await call(200, operator, 'get', '/accounts/{accountId}/environments', { params: { accountId } });
    await call(200, operator, 'get', '/environments/{environmentId}', { params: { environmentId } });
    await call(200, operator, 'patch', '/environments/{environmentId}', { params: { environmentId }, body: { name: 'stage' } });

    const dana = await call(201, operator, 'post', '/users', { body: { email: `dana-${Date.now()}@OpenAPI.test`, name: 'Dana' } });
    const userId = dana.body.id as string;
    const admin = { accountId, userId };
    expect((await call(201, operator, 'put', '/accounts/{accountId}/admins/{userId}', { params: admin })).body).toEqual({ userId, role: 'admin', accountId, environmentId: null });
    await call(200, operator, 'put', '/accounts/{accountId}/admins/{userId}', { params: admin });
    const environmentGrant = { environmentId, userId };
    expect((await call(201, operator, 'put', '/environments/{environmentId}/admins/{userId}', { params: environmentGrant })).body).toEqual({ userId, role: 'admin', accountId, environmentId });
    await call(200, operator, 'put', '/environments/{environmentId}/admins/{userId}', { params: environmentGrant });
    await call(204, operator, 'delete', '/environments/{environmentId}/admins/{userId}', { params: environmentGrant });
    await call(404, operator, 'delete', '/environments/{environmentId}/admins/{userId}', { params: environmentGrant });
    await call(204, operator, 'delete', '/accounts/{accountId}/admins/{userId}', { params: admin });
    await call(404, operator, 'delete', '/accounts/{accountId}/admins/{userId}', { params: admin });

    // An account admin sees its account and manages its environments, but not the account itself.
    const own = { accountId: tenant.accountId };
    const mine = await call(200, accountAdmin, 'get', '/accounts');
    expect(mine.body.data.map((account: Json) => account.id)).toEqual([tenant.accountId]);
    await call(200, accountAdmin, 'get', '/accounts/{accountId}', { params: own });
    await call(404, accountAdmin, 'get', '/accounts/{accountId}', { params: { accountId } });
    await call(403, accountAdmin, 'post', '/accounts', { body: { name: 'mine' } });
    await call(403, accountAdmin, 'patch', '/accounts/{accountId}', { params: own, body: { name: 'mine' } });
    await call(403, accountAdmin, 'delete', '/accounts/{accountId}', { params: own });
    await call(403, accountAdmin, 'put', '/accounts/{accountId}/admins/{userId}', { params: { ...own, userId } });
    await call(403, accountAdmin, 'delete', '/accounts/{accountId}/admins/{userId}', { params: { ...own, userId: accountAdmin.id } });
    const dev = await call(201, accountAdmin, 'post', '/accounts/{accountId}/environments', { params: own, body: { name: 'dev' } });
    const devId = dev.body.id as string;
    await call(200, accountAdmin, 'patch', '/environments/{environmentId}', { params: { environmentId: devId }, body: { name: 'development' } });
    await call(201, accountAdmin, 'put', '/environments/{environmentId}/admins/{userId}', { params: { environmentId: devId, userId: environmentAdmin.id } });
    await call(200, accountAdmin, 'get', '/accounts/{accountId}/events', { params: own, query: { action: 'environment.created' } });

    // An environment admin sees its environment but may not change it or its admins.
    const env = { environmentId: tenant.environmentId };
    await call(200, environmentAdmin, 'get', '/environments/{environmentId}', { params: env });
    await call(200, environmentAdmin, 'get', '/accounts', {});
    await call(404, environmentAdmin, 'get', '/accounts/{accountId}', { params: own });
    await call(404, environmentAdmin, 'get', '/accounts/{accountId}/environments', { params: own });
    await call(404, environmentAdmin, 'post', '/accounts/{accountId}/environments', { params: own, body: { name: 'sneaky' } });
    await call(404, environmentAdmin, 'get', '/accounts/{accountId}/events', { params: own });
    await call(403, environmentAdmin, 'patch', '/environments/{environmentId}', { params: env, body: { name: 'mine' } });
    await call(403, environmentAdmin, 'delete', '/environments/{environmentId}', { params: env });
    await call(403, environmentAdmin, 'put', '/environments/{environmentId}/admins/{userId}', { params: { ...env, userId } });
    await call(403, environmentAdmin, 'delete', '/environments/{environmentId}/admins/{userId}', { params: { ...env, userId: environmentAdmin.id } });

    // Bodies: 400, 413, 415 on each tenancy write.
    await call(400, operator, 'patch', '/accounts/{accountId}', { params: { accountId }, body: { name: '' } });
    await call(400, operator, 'post', '/accounts/{accountId}/environments', { params: { accountId }, body: {} });
    await call(400, operator, 'patch', '/environments/{environmentId}', { params: { environmentId }, body: { name: 'x', extra: true } });
    const big = { name: 'x'.repeat(70_000) };
    const notJson = { type: 'text/plain', data: 'name=x' };
    await call(413, operator, 'post', '/accounts', { body: big });
    await call(415, operator, 'post', '/accounts', { raw: notJson });
    await call(413, operator, 'patch', '/accounts/{accountId}', { params: { accountId }, body: big });
    await call(415, operator, 'patch', '/accounts/{accountId}', { params: { accountId }, raw: notJson });
    await call(413, operator, 'post', '/accounts/{accountId}/environments', { params: { accountId }, body: big });
    await call(415, operator, 'post', '/accounts/{accountId}/environments', { params: { accountId }, raw: notJson });
    await call(413, operator, 'patch', '/environments/{environmentId}', { params: { environmentId }, body: big });
    await call(415, operator, 'patch', '/environments/{environmentId}', { params: { environmentId }, raw: notJson });

    // Closing: the environment, then the account; both are gone afterwards.
    await call(204, accountAdmin, 'delete', '/environments/{environmentId}', { params: { environmentId: devId } });
    await call(404, accountAdmin, 'get', '/environments/{environmentId}', { params: { environmentId: devId } });
    await call(204, operator, 'delete', '/accounts/{accountId}', { params: { accountId } });
    await call(404, operator, 'get', '/accounts/{accountId}', { params: { accountId } });
    await call(404, operator, 'get', '/environments/{environmentId}', { params: { environmentId } });
  });

  it('users and /me', async () => {
    const me = await call(200, environmentAdmin, 'get', '/me');
    expect(me.body.memberships).toEqual([expect.objectContaining({ accountId: tenant.accountId, environmentId: tenant.environmentId, environmentName: 'test' })]);
    await call(200, accountAdmin, 'get', '/me');
    await call(200, operator, 'get', '/me');

    await call(200, operator, 'get', '/users');
    const email = `eve-${Date.now()}@openapi.test`;
    const eve = await call(201, operator, 'post', '/users', { body: { email, isOperator: false } });
    const conflict = await call(409, operator, 'post', '/users', { body: { email: email.toUpperCase() } });
    expect(conflict.body.code).toBe('conflict');
    const eveId = eve.body.id as string;
    await call(200, operator, 'get', '/users/{userId}', { params: { userId: eveId } });
    await call(200, operator, 'patch', '/users/{userId}', { params: { userId: eveId }, body: { name: 'Eve' } });
    await call(409, operator, 'patch', '/users/{userId}', { params: { userId: operator.id }, body: { isOperator: false } });

    const self = await call(200, environmentAdmin, 'get', '/users/{userId}', { params: { userId: environmentAdmin.id } });
    expect(self.body.memberships).toEqual([expect.objectContaining({ accountId: null, environmentId: tenant.environmentId })]);
    await call(404, environmentAdmin, 'get', '/users/{userId}', { params: { userId: eveId } });
    await call(403, environmentAdmin, 'patch', '/users/{userId}', { params: { userId: environmentAdmin.id }, body: { name: 'me' } });
    await call(404, environmentAdmin, 'patch', '/users/{userId}', { params: { userId: eveId }, body: { name: 'you' } });
    await call(403, accountAdmin, 'get', '/users');
    await call(403, accountAdmin, 'post', '/users', { body: { email: 'x@y.test' } });

    await call(400, operator, 'patch', '/users/{userId}', { params: { userId: eveId }, body: { isOperator: 'yes' } });
    await call(413, operator, 'post', '/users', { body: { email: 'x'.repeat(70_000) } });
    await call(415, operator, 'post', '/users', { raw: { type: 'text/plain', data: 'email=x' } });
    await call(413, operator, 'patch', '/users/{userId}', { params: { userId: eveId }, body: { name: 'x'.repeat(70_000) } });
    await call(415, operator, 'patch', '/users/{userId}', { params: { userId: eveId }, raw: { type: 'text/plain', data: 'name=x' } });
  });

  it('resource servers: every admin reads them, operators change them', async () => {
    const identifier = `https://openapi-${Date.now().toString(36)}.test/api`;
    const created = await call(201, operator, 'post', '/resource-servers', {
      body: { identifier, name: 'Reports', scopes: [{ name: 'reports:read', description: 'Read reports' }, { name: 'reports:write' }], accessTokenTtl: 120 },
    });
    const id = created.body.id as string;
    expect(created.body).toMatchObject({ identifier, isDefault: false, scopes: [{ name: 'reports:read', description: 'Read reports' }, { name: 'reports:write', description: '' }] });
    await call(409, operator, 'post', '/resource-servers', { body: { identifier, name: 'Again', scopes: [] } });
    await call(200, environmentAdmin, 'get', '/resource-servers');
    await call(200, environmentAdmin, 'get', '/resource-servers/{id}', { params: { id } });
    await call(200, operator, 'patch', '/resource-servers/{id}', { params: { id }, body: { name: 'Reporting', accessTokenTtl: 600, scopes: [{ name: 'reports:read' }] } });
    // Limited to another account: the tenant's admins see a 404, the operator still reads it.
    const otherAccount = (await call(201, operator, 'post', '/accounts', { body: { name: 'elsewhere' } })).body.id as string;
    expect((await call(200, operator, 'patch', '/resource-servers/{id}', { params: { id }, body: { availableTo: [otherAccount] } })).body.availableTo).toEqual([otherAccount]);
    await call(404, environmentAdmin, 'get', '/resource-servers/{id}', { params: { id } });
    await call(200, operator, 'get', '/resource-servers/{id}', { params: { id } });
    await call(200, operator, 'patch', '/resource-servers/{id}', { params: { id }, body: { availableTo: null } });
    const defaultId = kg.keygate.catalog.defaultServer!.id;
    await call(409, operator, 'patch', '/resource-servers/{id}', { params: { id: defaultId }, body: { isDefault: false } });

    await call(403, accountAdmin, 'post', '/resource-servers', { body: { identifier: `${identifier}/2`, name: 'Mine', scopes: [] } });
    await call(403, accountAdmin, 'patch', '/resource-servers/{id}', { params: { id }, body: { name: 'Mine' } });
    await refused(operator, 'patch', '/resource-servers/{id}', { id }, { identifier: 'https://elsewhere.test/' });
    await refused(operator, 'patch', '/resource-servers/{id}', { id }, { accessTokenTtl: 30 });
    await call(413, operator, 'post', '/resource-servers', { body: { identifier, name: 'x'.repeat(70_000), scopes: [] } });
    await call(415, operator, 'post', '/resource-servers', { raw: { type: 'text/plain', data: 'x' } });
    await call(413, operator, 'patch', '/resource-servers/{id}', { params: { id }, body: { name: 'x'.repeat(70_000) } });
    await call(415, operator, 'patch', '/resource-servers/{id}', { params: { id }, raw: { type: 'text/plain', data: 'x' } });
  });

  it('trusted issuers: every admin reads them, operators change them', async () => {
    const issuer = `https://openapi-${Date.now().toString(36)}.issuer.test`;
    const created = await call(201, operator, 'post', '/trusted-issuers', { body: { issuer, name: 'Cluster', jwks: { keys: [{ kty: 'OKP', crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo', kid: 'k1' }] } } });
    const id = created.body.id as string;
    await call(409, operator, 'post', '/trusted-issuers', { body: { issuer, name: 'Again' } });
    await call(200, environmentAdmin, 'get', '/trusted-issuers');
    await call(200, environmentAdmin, 'get', '/trusted-issuers/{id}', { params: { id } });
    await call(200, operator, 'patch', '/trusted-issuers/{id}', { params: { id }, body: { jwksUri: `${issuer}/keys`, audience: 'sts.keygate.test' }, headers: { 'If-Match': '"1"' } });
    await call(412, operator, 'patch', '/trusted-issuers/{id}', { params: { id }, body: { name: 'Stale' }, headers: { 'If-Match': '"1"' } });
    await call(403, accountAdmin, 'post', '/trusted-issuers', { body: { issuer: `${issuer}/2`, name: 'Mine' } });
    await call(403, accountAdmin, 'patch', '/trusted-issuers/{id}', { params: { id }, body: { name: 'Mine' } });
    await call(403, accountAdmin, 'delete', '/trusted-issuers/{id}', { params: { id } });
    await refused(operator, 'patch', '/trusted-issuers/{id}', { id }, { name: '' });
    await refused(operator, 'post', '/trusted-issuers', {}, { issuer, name: 'Extra', extra: true });
    await call(413, operator, 'post', '/trusted-issuers', { body: { issuer, name: 'x'.repeat(70_000) } });
    await call(415, operator, 'patch', '/trusted-issuers/{id}', { params: { id }, raw: { type: 'text/plain', data: 'x' } });
    await call(204, operator, 'delete', '/trusted-issuers/{id}', { params: { id } });
  });

  // Runs last (tests in a file run in order): what the tests above reached.
  it('reached every documented operation with a success, and every documented error status somewhere', () => {
    const withoutSuccess = documentedOperations()
      .map(({ method, template }) => `${method.toUpperCase()} ${template}`)
      .filter((label) => ![...(seen.get(label) ?? [])].some((status) => status < 300));
    expect(withoutSuccess).toEqual([]);

    const errorStatuses = new Set(documentedOperations().flatMap(({ method, template }) => Object.keys(operationOf(method, template).responses).filter((status) => Number(status) >= 400)));
    const reached = new Set([...seen.values()].flatMap((statuses) => [...statuses].map(String)));
    expect([...errorStatuses].filter((status) => !reached.has(status))).toEqual([]);
  });
});
