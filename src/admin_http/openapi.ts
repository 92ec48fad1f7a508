import type { TSchema } from 'typebox';
import { NAMED_SCHEMAS } from '../contract/index.js';
import { MAX_BODY_BYTES } from '../shared/limits.js';
import { ADMIN_ROUTES, type FailureStatus, type ResponseHeader, type Route } from '../contract/routes.js';

/**
 * The admin API reference (OpenAPI 3.1), served at `GET /admin/v1/openapi.json`,
 * generated from the contract: the schemas of src/contract/ (they are JSON Schema
 * already) and its route table. test/admin_http/openapi.test.ts keeps the table and
 * the router together and checks every answer against the document; response
 * objects are closed, so a field added to a view without its schema fails there.
 */

type Json = Record<string, unknown>;

const NAME_OF = new Map<unknown, string>(Object.entries(NAMED_SCHEMAS).map(([name, schema]) => [schema, name]));
const schemaRef = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });

/**
 * `schema` as plain JSON, each named schema inside it a `$ref` to its component
 * (TypeBox keeps what it builds by reference, so a named schema is found by identity).
 */
function toJson(schema: unknown, root = true): unknown {
  if (Array.isArray(schema)) return schema.map((item) => toJson(item, false));
  if (typeof schema !== 'object' || schema === null) return schema;
  const name = NAME_OF.get(schema);
  if (!root && name !== undefined) return schemaRef(name);
  return Object.fromEntries(Object.entries(schema).map(([key, value]) => [key, toJson(value, false)]));
}

/** The schema of a request or response: its component when it has one. */
const reference = (schema: TSchema): Json => (NAME_OF.has(schema) ? schemaRef(NAME_OF.get(schema)!) : (toJson(schema) as Json));

/** The problem+json answers, by status. */
const FAILURES: Record<FailureStatus, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  409: 'Conflict',
  412: 'PreconditionFailed',
  413: 'PayloadTooLarge',
  415: 'UnsupportedMediaType',
};

const problem = (description: string, headers?: Json): Json => ({ description, ...(headers && { headers }), content: { 'application/problem+json': { schema: schemaRef('Problem') } } });

const RESPONSES: Record<string, Json> = {
  BadRequest: problem('Invalid request (`validation_failed`): `errors` names every bad body field, query parameter or header at once. Nothing was changed.'),
  Unauthorized: problem('No admin token, or one that is invalid, expired, from an untrusted issuer, or names no user who is an admin anywhere (`unauthenticated`).', {
    'WWW-Authenticate': { $ref: '#/components/headers/WWW-Authenticate' },
  }),
  Forbidden: problem('The caller can see the object but may not do this to it (`forbidden`).'),
  NotFound: problem("No such object, or one outside the caller's reach: the two read the same (`not_found`)."),
  Conflict: problem('The change contradicts the current state (`conflict`), or the owner already holds MAX_ACTIVE_KEYPAIRS enabled keypairs (`limit_reached`).'),
  PreconditionFailed: problem('`If-Match` names a version other than the current one (`precondition_failed`): fetch the object again.'),
  PayloadTooLarge: problem(`The body is over ${MAX_BODY_BYTES} bytes (\`payload_too_large\`).`),
  UnsupportedMediaType: problem('A non-empty body that is not `application/json` (`unsupported_media_type`).'),
};

const HEADERS: Record<ResponseHeader | 'WWW-Authenticate', Json> = {
  ETag: { description: 'The version, quoted: send it back in `If-Match`.', required: true, schema: { type: 'string', pattern: '^"[0-9]+"$' } },
  Location: { description: 'The path of the new object.', required: true, schema: { type: 'string', pattern: '^/admin/v1/' } },
  'Cache-Control': { description: 'The answer holds a secret: never cached.', required: true, schema: { type: 'string', const: 'no-store' } },
  'WWW-Authenticate': {
    description: '`Bearer` without a token; `Bearer error="invalid_token", error_description="…"` for a token that was refused (RFC 6750).',
    required: true,
    schema: { type: 'string', pattern: '^Bearer' },
  },
};

/** Path parameters, by the name a template gives them. */
const PATH_PARAMETERS: Record<string, { component: string; description: string }> = {
  accountId: { component: 'AccountId', description: 'Account id (`acc_…`).' },
  environmentId: { component: 'EnvironmentId', description: 'Environment id (`env_…`).' },
  clientId: { component: 'ClientId', description: 'Keypair `client_id` (`kp_…`).' },
  userId: { component: 'UserId', description: 'User id (`usr_…`).' },
  id: { component: 'ResourceServerId', description: 'Resource server id (`rs_…`).' },
};

const PARAMETERS: Record<string, Json> = {
  ...Object.fromEntries(Object.entries(PATH_PARAMETERS).map(([name, { component, description }]) => [component, { name, in: 'path', required: true, description, schema: { type: 'string' } }])),
  IfMatch: {
    name: 'If-Match',
    in: 'header',
    required: false,
    description: 'The `ETag` last read, e.g. `"3"` (or `W/"3"`): the change applies only if the keypair is still at that version (else 412). A value of another form is a 400.',
    schema: { type: 'string', pattern: '^(W/)?"[0-9]+"$' },
  },
};

/** A query schema's properties as query parameters, each described by its schema's description. */
function queryParameters(query: TSchema): Json[] {
  const properties = (toJson(query) as { properties: Record<string, Json> }).properties;
  return Object.entries(properties).map(([name, { description, ...schema }]) => ({ name, in: 'query', required: false, description, schema }));
}

function operation(route: Route): Json {
  const parameters = [...(route.ifMatch ? [{ $ref: '#/components/parameters/IfMatch' }] : []), ...(route.query ? queryParameters(route.query) : [])];
  const answers = Object.entries(route.answers).map(([status, answer]) => [
    status,
    {
      description: answer.description,
      ...(answer.headers && { headers: Object.fromEntries(answer.headers.map((header) => [header, { $ref: `#/components/headers/${header}` }])) }),
      ...(answer.schema && { content: { 'application/json': { schema: reference(answer.schema) } } }),
    },
  ]);
  return {
    operationId: route.id,
    tags: [route.tag],
    summary: route.summary,
    ...(route.description && { description: route.description }),
    ...(parameters.length > 0 && { parameters }),
    ...(route.body && { requestBody: { required: route.body.required, content: { 'application/json': { schema: reference(route.body.schema) } } } }),
    responses: Object.fromEntries([...answers, ...route.failures.map((status) => [String(status), { $ref: `#/components/responses/${FAILURES[status]}` }])]),
  };
}

/** Just enough of the OpenAPI 3.1 shape to describe this very response. */
const OPENAPI_DOCUMENT: Json = {
  type: 'object',
  properties: { openapi: { type: 'string', const: '3.1.0' }, info: { type: 'object' }, paths: { type: 'object' } },
  required: ['openapi', 'info', 'paths'],
};

function paths(): Record<string, Json> {
  const items: Record<string, Json> = {
    '/openapi.json': {
      get: { operationId: 'getOpenApiDocument', tags: ['Meta'], summary: 'This document', responses: { 200: { description: 'The OpenAPI 3.1 document.', content: { 'application/json': { schema: OPENAPI_DOCUMENT } } } }, security: [] },
    },
  };
  for (const route of ADMIN_ROUTES) {
    const names = [...route.path.matchAll(/\{(\w+)\}/g)].map(([, name]) => name!);
    items[route.path] ??= names.length > 0 ? { parameters: names.map((name) => ({ $ref: `#/components/parameters/${PATH_PARAMETERS[name]!.component}` })) } : {};
    items[route.path]![route.method] = operation(route);
  }
  return items;
}

/** The OpenAPI 3.1 document of `/admin/v1`, for a server whose issuer is `issuer`. */
export function openApiDocument(issuer: string): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Keygate admin API',
      version: '1',
      description:
        'Manage keypairs (OAuth 2.0 client credentials), accounts, environments, admins, users and resource servers. ' +
        'Requests and responses are JSON; errors are `application/problem+json` (RFC 9457). ' +
        `Request bodies are limited to ${MAX_BODY_BYTES} bytes; an empty body reads as \`{}\`; unknown fields are refused. ` +
        'Text in bodies, path and query parameters may not contain U+0000 (PostgreSQL text cannot hold it): such a request is a 400, or a 404 for an id. ' +
        'A method a path does not take answers 405 with `Allow`. ' +
        "An object outside the caller's reach answers 404, exactly like one that does not exist; 403 means the caller sees it but may not do this.",
    },
    servers: [{ url: `${issuer}/admin/v1` }],
    security: [{ bearerAuth: [] }],
    tags: ['Keypairs', 'Usage', 'History', 'Accounts', 'Environments', 'Admins', 'Users', 'Resource servers', 'Trusted issuers', 'Meta'].map((name) => ({ name })),
    paths: paths(),
    components: {
      securitySchemes: {
        bearerAuth: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: 'An admin token: from `keygate admin-token` (audience `<ISSUER>/admin`) or from an identity provider in ADMIN_TRUSTED_ISSUERS.',
        },
      },
      schemas: Object.fromEntries(Object.entries(NAMED_SCHEMAS).map(([name, schema]) => [name, toJson(schema)])),
      parameters: PARAMETERS,
      responses: RESPONSES,
      headers: HEADERS,
    },
  };
}
