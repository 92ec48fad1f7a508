import { MAX_GRACE_PERIOD_SECONDS } from '../keypairs/service.js';
import { MAX_BODY_BYTES } from './body.js';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './context.js';

/**
 * The admin API reference (OpenAPI 3.1), served at `GET /admin/v1/openapi.json`.
 *
 * Written by hand from the routes, so it says what they do rather than what a
 * generator could infer. test/admin_http/openapi.test.ts keeps the two together:
 * the router's routes and these paths are the same set, and every response the
 * routes give validates against the schema documented for its status. Response
 * objects are closed (`additionalProperties: false`), so a field added to a view
 * without a line here fails that test.
 */

type Schema = Record<string, unknown>;
type Operation = Record<string, unknown>;

const schemaRef = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const parameterRef = (name: string): Schema => ({ $ref: `#/components/parameters/${name}` });
const responseRef = (name: string): Schema => ({ $ref: `#/components/responses/${name}` });
const headerRef = (name: string): Schema => ({ $ref: `#/components/headers/${name}` });

/** A closed object: every property listed is present, nothing else is. */
function record(properties: Record<string, Schema>, description?: string): Schema {
  return { type: 'object', ...(description && { description }), properties, required: Object.keys(properties), additionalProperties: false };
}

/** A request body object: unknown fields are refused (400), so it is closed too. */
function input(properties: Record<string, Schema>, required: readonly string[], extra: Schema = {}): Schema {
  return { type: 'object', properties, required: [...required], additionalProperties: false, ...extra };
}

/** One page of a list: `nextCursor` is null on the last page. */
function list(item: string, description: string): Schema {
  return record({ data: { type: 'array', items: schemaRef(item) }, nextCursor: { type: ['string', 'null'], description: 'Pass as `cursor` for the next page; null on the last one.' } }, description);
}

const json = (schema: Schema) => ({ content: { 'application/json': { schema } } });

function ok(description: string, schema: Schema, headers: Record<string, Schema> = {}): Schema {
  return { description, ...(Object.keys(headers).length > 0 && { headers }), ...json(schema) };
}

const noContent = (description: string): Schema => ({ description });

/** The problem+json answers of an operation, by status. */
const ERROR_RESPONSES = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  409: 'Conflict',
  412: 'PreconditionFailed',
  413: 'PayloadTooLarge',
  415: 'UnsupportedMediaType',
} as const;
type ErrorStatus = keyof typeof ERROR_RESPONSES;

function failures(...statuses: ErrorStatus[]): Record<string, Schema> {
  return Object.fromEntries(statuses.map((status) => [String(status), responseRef(ERROR_RESPONSES[status])]));
}

/** Statuses of every operation that reads a JSON body (body.ts). */
const BODY_FAILURES: ErrorStatus[] = [400, 413, 415];

function operation(spec: {
  id: string;
  tag: string;
  summary: string;
  description?: string;
  parameters?: Schema[];
  body?: { schema: Schema; required: boolean };
  responses: Record<string, Schema>;
}): Operation {
  return {
    operationId: spec.id,
    tags: [spec.tag],
    summary: spec.summary,
    ...(spec.description && { description: spec.description }),
    ...(spec.parameters && { parameters: spec.parameters }),
    ...(spec.body && { requestBody: { required: spec.body.required, ...json(spec.body.schema) } }),
    responses: spec.responses,
  };
}

// Scalars shared by the schemas below.
const timestamp: Schema = { type: 'string', format: 'date-time' };
const nullableTimestamp: Schema = { type: ['string', 'null'], format: 'date-time' };
const idOf = (prefix: string, what: string): Schema => ({ type: 'string', pattern: `^${prefix}_`, description: what });
const nullableIdOf = (prefix: string, what: string): Schema => ({ type: ['string', 'null'], pattern: `^${prefix}_`, description: what });
/** RFC 6749 §3.3 scope-token, as schema.ts `scopeName` checks it. */
const scopeToken: Schema = { type: 'string', minLength: 1, maxLength: 100, pattern: '^[\\x21\\x23-\\x5B\\x5D-\\x7E]+$' };
const entityName: Schema = { type: 'string', minLength: 1, maxLength: 100, pattern: '\\S', description: 'Trimmed; 1 to 100 characters, not all blank.' };
const userName: Schema = { type: 'string', maxLength: 100, description: 'Trimmed; up to 100 characters.' };

/** Longest `expiresIn` in seconds: 10 years (keypairs_routes.ts). */
const MAX_EXPIRES_IN_SECONDS = 10 * 365 * 86_400;
/** Token lifetime bounds of a resource server, in seconds (resource_servers_routes.ts). */
const MIN_ACCESS_TOKEN_TTL = 60;
const MAX_ACCESS_TOKEN_TTL = 86_400;

/** One grant: scopes of one resource server's catalogue. */
const grantSchema = (scopesDescription: string): Schema => ({
  type: 'object',
  properties: {
    resourceServer: { type: 'string', maxLength: 500, description: 'The resource server\'s `identifier` (the tokens\' `aud`).' },
    scopes: { type: 'array', items: scopeToken, minItems: 1, maxItems: 100, uniqueItems: true, description: scopesDescription },
  },
  required: ['resourceServer', 'scopes'],
  additionalProperties: false,
});

const KEYPAIR_PROPERTIES: Record<string, Schema> = {
  clientId: idOf('kp', 'The OAuth `client_id`.'),
  name: { type: 'string' },
  comment: { type: 'string', description: 'Empty when none was given.' },
  scopes: { type: 'array', items: scopeToken, uniqueItems: true, description: 'The scopes granted at the default resource server (the grant there, as a shorthand); empty when none.' },
  grants: {
    type: 'array',
    items: grantSchema('Scope names granted there.'),
    description: 'Every grant, one per resource server, ordered by identifier. A token for a resource server carries only scopes granted there.',
  },
  enabled: { type: 'boolean' },
  disabledReason: { type: ['string', 'null'], description: 'Given with the disable; null while enabled or when none was given.' },
  disabledAt: nullableTimestamp,
  secretHint: { type: ['string', 'null'], pattern: '^kgs_••••[0-9A-Za-z]{4}$', description: 'The current secret: prefix and last four characters, e.g. `kgs_••••a1b2`.' },
  lastUsedAt: { ...nullableTimestamp, description: 'Last token issued; written in batches, so it may lag by a few seconds.' },
  expiresAt: { ...nullableTimestamp, description: 'Null: never expires.' },
  rateLimitPerMinute: { type: ['integer', 'null'], minimum: 60, maximum: 1000, description: 'Token requests per minute; null: the server default (RATE_LIMIT_PER_MINUTE).' },
  allowedIps: { type: 'array', items: { type: 'string' }, maxItems: 100, description: 'Addresses and CIDR ranges token requests may come from, in canonical form; empty: anywhere.' },
  autoDisable: { type: ['boolean', 'null'], description: 'Disable on sustained failures; null: the server default (AUTO_DISABLE_DEFAULT).' },
  accountId: idOf('acc', 'The owning account.'),
  environmentId: nullableIdOf('env', 'The owning environment; null for an account-level keypair.'),
  createdBy: { type: 'string', description: 'The user id of whoever created it, or `system`.' },
  createdAt: timestamp,
  updatedAt: timestamp,
  version: { type: 'integer', minimum: 1, description: 'Bumped by every change; the `ETag` and `If-Match` value.' },
};

/** The guards a keypair may set, as create and PATCH take them. */
const GUARD_INPUTS: Record<string, Schema> = {
  rateLimitPerMinute: { type: ['integer', 'null'], minimum: 60, maximum: 1000, description: 'Token requests per minute; null: the server default. Over it the token endpoint answers 429 with Retry-After.' },
  allowedIps: {
    type: 'array',
    items: { type: 'string', description: 'An IPv4 or IPv6 address, or a CIDR range with no bits set past the prefix.' },
    maxItems: 100,
    uniqueItems: true,
    description: 'Replaces the allowlist; empty: anywhere. A request from elsewhere gets invalid_client.',
  },
  autoDisable: { type: ['boolean', 'null'], description: 'Disable on sustained failures; null: the server default.' },
};

const windowTotals: Schema = record({ issued: { type: 'integer', minimum: 0 }, refused: { type: 'integer', minimum: 0 } });
const windowBreakdown = (key: string, what: string): Schema => record({ [key]: { type: 'string', description: what }, last24h: windowTotals, last7d: windowTotals });

const ACCOUNT_PROPERTIES: Record<string, Schema> = {
  id: idOf('acc', 'Account id.'),
  name: { type: 'string' },
  status: { type: 'string', enum: ['active', 'closed'] },
  createdAt: timestamp,
  updatedAt: timestamp,
};

const USER_PROPERTIES: Record<string, Schema> = {
  id: idOf('usr', 'User id.'),
  email: { type: 'string', description: 'Lower-cased; unique regardless of case.' },
  name: { type: 'string' },
  isOperator: { type: 'boolean' },
  createdAt: timestamp,
  updatedAt: timestamp,
};

const MEMBERSHIP_PROPERTIES: Record<string, Schema> = {
  role: { type: 'string', const: 'admin' },
  accountId: nullableIdOf('acc', 'Set for an account grant; null for an environment grant.'),
  environmentId: nullableIdOf('env', 'Set for an environment grant; null for an account grant.'),
  createdAt: timestamp,
};

/** A resource server's `availableTo` on create and update. */
function availableToInput(description: string): Schema {
  return { type: ['array', 'null'], items: { type: 'string', maxLength: 100 }, maxItems: 1000, uniqueItems: true, description };
}

const SCHEMAS: Record<string, Schema> = {
  Keypair: record(KEYPAIR_PROPERTIES, 'A keypair as the admin API shows it: never its secret, only the hint.'),
  KeypairWithSecret: record(
    { ...KEYPAIR_PROPERTIES, clientSecret: { type: 'string', pattern: '^kgs_[0-9A-Za-z]{49}$', description: 'The secret, returned this once only: store it now.' } },
    'A keypair with the secret just minted (create and rotate only).',
  ),
  KeypairList: list('Keypair', 'Keypairs, oldest first.'),
  Account: record(ACCOUNT_PROPERTIES),
  AccountList: list('Account', 'Every active account the caller can see; one page (`nextCursor` is null).'),
  Environment: record({ ...ACCOUNT_PROPERTIES, id: idOf('env', 'Environment id.'), accountId: idOf('acc', 'The account it belongs to.') }),
  EnvironmentList: list('Environment', "The account's active environments; one page (`nextCursor` is null)."),
  User: record(USER_PROPERTIES),
  UserList: list('User', 'Every user; one page (`nextCursor` is null).'),
  Membership: record(MEMBERSHIP_PROPERTIES, 'An admin grant, on an account or on one environment.'),
  UserWithMemberships: record({ ...USER_PROPERTIES, memberships: { type: 'array', items: schemaRef('Membership') } }),
  MeMembership: record(
    {
      ...MEMBERSHIP_PROPERTIES,
      accountId: idOf('acc', 'The account granted, or the account of the environment granted.'),
      accountName: { type: 'string' },
      environmentName: { type: ['string', 'null'], description: 'Null for an account grant.' },
    },
    'A grant of the caller, with the names a console shows.',
  ),
  Me: record({ ...USER_PROPERTIES, memberships: { type: 'array', items: schemaRef('MeMembership') } }, 'The caller and its grants.'),
  AdminGrant: record(
    {
      userId: idOf('usr', 'The user granted.'),
      role: { type: 'string', const: 'admin' },
      accountId: idOf('acc', 'The account granted, or the account of the environment granted.'),
      environmentId: nullableIdOf('env', 'The environment granted; null for an account grant.'),
    },
    'An admin grant as PUT answers it.',
  ),
  ScopeDefinition: record({ name: scopeToken, description: { type: 'string', maxLength: 500 } }),
  ResourceServer: record({
    id: idOf('rs', 'Resource server id.'),
    identifier: { type: 'string', description: 'The RFC 8707 resource indicator and the tokens\' `aud`: an absolute URI.' },
    name: { type: 'string' },
    scopes: { type: 'array', items: schemaRef('ScopeDefinition') },
    accessTokenTtl: { type: 'integer', minimum: MIN_ACCESS_TOKEN_TTL, maximum: MAX_ACCESS_TOKEN_TTL, description: 'Token lifetime in seconds.' },
    isDefault: { type: 'boolean', description: 'Used when a token request names no `resource`; exactly one is.' },
    availableTo: {
      type: ['array', 'null'],
      items: idOf('acc', 'An account id.'),
      description: 'Accounts whose keypairs may hold grants here; null: every account. Admins of other accounts do not see it.',
    },
  }),
  ResourceServerList: list('ResourceServer', 'Every resource server; one page (`nextCursor` is null).'),
  AuditEvent: record(
    {
      id: idOf('evt', 'Event id.'),
      at: timestamp,
      action: { type: 'string', description: 'e.g. `keypair.created`, `keypair.rotated`, `membership.granted`.' },
      actor: record({
        type: { type: 'string', enum: ['user', 'operator', 'system'] },
        id: { type: ['string', 'null'], description: 'The user id; null for the system.' },
        email: { type: ['string', 'null'], description: "The user's current email; null for the system or a removed user." },
        name: { type: ['string', 'null'] },
      }),
      target: record({ type: { type: 'string', description: '`keypair`, `account`, `environment`, `user` or `resource_server`.' }, id: { type: 'string' } }),
      accountId: nullableIdOf('acc', 'Null for events outside any account (users, resource servers).'),
      environmentId: nullableIdOf('env', 'Null unless the event concerns one environment.'),
      before: { type: ['object', 'null'], description: 'The changed fields before the change; never a secret.' },
      after: { type: ['object', 'null'], description: 'The changed fields after the change; never a secret.' },
      ip: { type: ['string', 'null'] },
      userAgent: { type: ['string', 'null'] },
    },
    'One entry of the append-only history.',
  ),
  AuditEventList: list('AuditEvent', 'History, newest first.'),
  KeypairUsage: record(
    {
      clientId: idOf('kp', 'The keypair.'),
      generatedAt: timestamp,
      last24h: { ...windowTotals, description: 'Token requests in the current hour and the 23 before it.' },
      last7d: { ...windowTotals, description: 'Token requests in the current hour and the 167 before it.' },
      refusalsByReason: {
        type: 'array',
        description: 'Most frequent first (7 days), at most 10.',
        items: record({
          reason: { type: 'string', description: '`secret_mismatch`, `secret_retired`, `ip_not_allowed`, `rate_limited`, `keypair_disabled`, `keypair_expired`, or the OAuth error (`invalid_scope`, `invalid_target`, ...).' },
          last24h: { type: 'integer', minimum: 0 },
          last7d: { type: 'integer', minimum: 0 },
        }),
      },
      topResources: { type: 'array', items: windowBreakdown('resource', 'A resource server identifier, or `other` for one Keygate does not know.'), description: 'At most 10.' },
      topScopes: { type: 'array', items: windowBreakdown('scope', 'A scope, or `other` for one no resource server defines.'), description: 'At most 10.' },
      hourly: {
        type: 'array',
        minItems: 24,
        maxItems: 24,
        description: 'The last 24 hours, oldest first, the current hour last.',
        items: record({ hour: timestamp, issued: { type: 'integer', minimum: 0 }, refused: { type: 'integer', minimum: 0 } }),
      },
      recentRequests: {
        type: 'array',
        maxItems: 20,
        description: 'The last 20 token requests the log kept, newest first. Refusals without a live secret (secret_mismatch, secret_retired, keypair_disabled, keypair_expired) are kept at most 10 per keypair and minute; the totals and refusals count them all.',
        items: record({
          at: timestamp,
          outcome: { type: 'string', enum: ['issued', 'refused'] },
          error: { type: ['string', 'null'], description: 'The OAuth error returned; null when issued.' },
          reason: { type: ['string', 'null'], description: 'Why it was refused; null when issued.' },
          ip: { type: ['string', 'null'] },
          userAgent: { type: ['string', 'null'] },
          scope: { type: ['string', 'null'], description: 'The scope requested (for an issued token that asked none, the scopes granted).' },
          resource: { type: ['string', 'null'] },
        }),
      },
    },
    "A keypair's usage: is it used, from where, and what fails.",
  ),
  FieldError: record({ field: { type: 'string', description: 'The body field, query parameter or header; `(body)` for the body as a whole.' }, message: { type: 'string' } }),
  Problem: {
    type: 'object',
    description: 'RFC 9457 problem details. `code` is stable; `title` and `detail` are for people.',
    properties: {
      type: { type: 'string', pattern: '^urn:keygate:problem:[a-z_]+$' },
      title: { type: 'string' },
      status: { type: 'integer', minimum: 400, maximum: 599 },
      detail: { type: 'string' },
      code: {
        type: 'string',
        enum: [
          'validation_failed',
          'unauthenticated',
          'forbidden',
          'not_found',
          'conflict',
          'limit_reached',
          'precondition_failed',
          'payload_too_large',
          'unsupported_media_type',
          'method_not_allowed',
          'internal_error',
        ],
      },
      errors: { type: 'array', items: schemaRef('FieldError'), minItems: 1, description: 'Validation only: every bad field at once.' },
    },
    required: ['type', 'title', 'status', 'detail', 'code'],
    additionalProperties: false,
  },

  // Request bodies.
  KeypairCreate: input(
    {
      name: entityName,
      comment: { type: 'string', maxLength: 1000 },
      scopes: { type: 'array', items: scopeToken, maxItems: 100, uniqueItems: true, description: 'Shorthand for the grant at the default resource server: each defined by it. Absent with `grants` absent: no grants.' },
      grants: {
        type: 'array',
        items: grantSchema('Each defined by that resource server; a grant names at least one.'),
        maxItems: 100,
        description: 'One per resource server, each available to the keypair\'s account (else 400 naming `grants[i].resourceServer`; bad scopes are named `grants[i].scopes[j]`). With `scopes` too, `grants` must not name the default resource server (400 naming `scopes`).',
      },
      expiresAt: { ...nullableTimestamp, description: 'In the future, and at most 9999-12-31T23:59:59Z. Null or absent (with no `expiresIn`): never expires.' },
      expiresIn: {
        description: `A preset or a number of seconds from 60 to ${MAX_EXPIRES_IN_SECONDS}, counted from now.`,
        anyOf: [
          { type: 'string', enum: ['1d', '7d', '30d', '90d'] },
          { type: 'integer', minimum: 60, maximum: MAX_EXPIRES_IN_SECONDS },
          { type: 'string', pattern: '^[0-9]+$' },
        ],
      },
      ...GUARD_INPUTS,
    },
    ['name'],
    { dependentSchemas: { expiresIn: { properties: { expiresAt: false } } }, description: '`expiresAt` or `expiresIn`, not both.' },
  ),
  KeypairUpdate: input(
    {
      name: entityName,
      comment: { type: 'string', maxLength: 1000 },
      scopes: { type: 'array', items: scopeToken, maxItems: 100, uniqueItems: true, description: 'Replaces the grant at the default resource server alone (empty: removes it); the other grants stay.' },
      grants: {
        type: 'array',
        items: grantSchema('Each defined by that resource server; a grant names at least one.'),
        maxItems: 100,
        description: 'One per resource server, each available to the keypair\'s account (else 400 naming `grants[i].resourceServer`; bad scopes are named `grants[i].scopes[j]`). Replaces every grant. Taking a scope away revokes the tokens issued so far: each live secret gets a fresh status-list index.',
      },
      ...GUARD_INPUTS,
      enabled: { type: 'boolean', description: 'false disables (tokens are refused from the next request on); true re-enables, within MAX_ACTIVE_KEYPAIRS.' },
      disabledReason: { type: 'string', maxLength: 500, description: 'Only with `"enabled": false`.' },
    },
    [],
    { dependentSchemas: { disabledReason: { properties: { enabled: { const: false } }, required: ['enabled'] } } },
  ),
  KeypairRotate: input(
    {
      gracePeriodSeconds: {
        type: 'integer',
        minimum: 0,
        maximum: MAX_GRACE_PERIOD_SECONDS,
        default: 0,
        description: 'How long the previous secret keeps working, in seconds; 0 ends it now. Any older secret ends now either way.',
      },
    },
    [],
  ),
  NameInput: input({ name: entityName }, ['name']),
  UserCreate: input(
    {
      email: { type: 'string', minLength: 3, maxLength: 254, pattern: '^[^@\\s]+@[^@\\s]+$', description: 'Stored lower-cased; unique regardless of case.' },
      name: { ...userName, default: '' },
      isOperator: { type: 'boolean', default: false },
    },
    ['email'],
  ),
  UserUpdate: input({ name: userName, isOperator: { type: 'boolean', description: 'Operators cannot remove their own operator role (409).' } }, []),
  ScopeDefinitionInput: input({ name: scopeToken, description: { type: 'string', maxLength: 500, default: '' } }, ['name']),
  ResourceServerCreate: input(
    {
      identifier: { type: 'string', format: 'uri', maxLength: 500, description: 'An absolute URI without a fragment (RFC 8707); unique.' },
      name: entityName,
      scopes: { type: 'array', items: schemaRef('ScopeDefinitionInput'), maxItems: 200, description: 'The catalogue; each name at most once.' },
      accessTokenTtl: { type: 'integer', minimum: MIN_ACCESS_TOKEN_TTL, maximum: MAX_ACCESS_TOKEN_TTL, default: 300, description: 'Seconds.' },
      isDefault: { type: 'boolean', default: false, description: 'true makes it the default in place of the current one.' },
      availableTo: availableToInput('Account ids (each must exist: 400 naming `availableTo[i]`); null or absent: every account.'),
    },
    ['identifier', 'name', 'scopes'],
  ),
  ResourceServerUpdate: input(
    {
      name: entityName,
      scopes: { type: 'array', items: schemaRef('ScopeDefinitionInput'), maxItems: 200, description: 'Replaces the catalogue; each name at most once.' },
      accessTokenTtl: { type: 'integer', minimum: MIN_ACCESS_TOKEN_TTL, maximum: MAX_ACCESS_TOKEN_TTL, description: 'Seconds.' },
      isDefault: { type: 'boolean', description: 'true makes it the default; false on the default is a 409 (make another the default instead).' },
      availableTo: availableToInput('Account ids, or null for every account. Limiting it removes the grants here of keypairs of other accounts and revokes their tokens (fresh status-list index).'),
    },
    [],
  ),
};

const problem = (description: string, headers?: Record<string, Schema>): Schema => ({
  description,
  ...(headers && { headers }),
  content: { 'application/problem+json': { schema: schemaRef('Problem') } },
});

const RESPONSES: Record<string, Schema> = {
  BadRequest: problem('Invalid request (`validation_failed`): `errors` names every bad body field, query parameter or header at once. Nothing was changed.'),
  Unauthorized: problem('No admin token, or one that is invalid, expired, from an untrusted issuer, or names no user who is an admin anywhere (`unauthenticated`).', {
    'WWW-Authenticate': headerRef('WWW-Authenticate'),
  }),
  Forbidden: problem('The caller can see the object but may not do this to it (`forbidden`).'),
  NotFound: problem('No such object, or one outside the caller\'s reach: the two read the same (`not_found`).'),
  Conflict: problem('The change contradicts the current state (`conflict`), or the owner already holds MAX_ACTIVE_KEYPAIRS enabled keypairs (`limit_reached`).'),
  PreconditionFailed: problem('`If-Match` names a version other than the current one (`precondition_failed`): fetch the object again.'),
  PayloadTooLarge: problem(`The body is over ${MAX_BODY_BYTES} bytes (\`payload_too_large\`).`),
  UnsupportedMediaType: problem('A non-empty body that is not `application/json` (`unsupported_media_type`).'),
};

const HEADERS: Record<string, Schema> = {
  ETag: { description: 'The version, quoted: send it back in `If-Match`.', required: true, schema: { type: 'string', pattern: '^"[0-9]+"$' } },
  Location: { description: 'The path of the new object.', required: true, schema: { type: 'string', pattern: '^/admin/v1/' } },
  'Cache-Control': { description: 'The answer holds a secret: never cached.', required: true, schema: { type: 'string', const: 'no-store' } },
  'WWW-Authenticate': {
    description: '`Bearer` without a token; `Bearer error="invalid_token", error_description="…"` for a token that was refused (RFC 6750).',
    required: true,
    schema: { type: 'string', pattern: '^Bearer' },
  },
};

const listQuery = (page: 'keypairs' | 'events'): Schema[] =>
  page === 'keypairs'
    ? ['Limit', 'Cursor', 'Enabled', 'Q'].map(parameterRef)
    : ['Limit', 'Cursor', 'EventAction', 'EventActor', 'EventEnvironment', 'EventFrom', 'EventTo'].map(parameterRef);

const query = (name: string, schema: Schema, description: string): Schema => ({ name, in: 'query', required: false, description, schema });
const path = (name: string, schema: Schema, description: string): Schema => ({ name, in: 'path', required: true, description, schema });

const PARAMETERS: Record<string, Schema> = {
  AccountId: path('accountId', { type: 'string' }, 'Account id (`acc_…`).'),
  EnvironmentId: path('environmentId', { type: 'string' }, 'Environment id (`env_…`).'),
  ClientId: path('clientId', { type: 'string' }, 'Keypair `client_id` (`kp_…`).'),
  UserId: path('userId', { type: 'string' }, 'User id (`usr_…`).'),
  ResourceServerId: path('id', { type: 'string' }, 'Resource server id (`rs_…`).'),
  Limit: query('limit', { type: 'integer', minimum: 1, maximum: MAX_PAGE_SIZE, default: DEFAULT_PAGE_SIZE }, 'Page size.'),
  Cursor: query('cursor', { type: 'string', maxLength: 500 }, 'The `nextCursor` of the previous page.'),
  Enabled: query('enabled', { type: 'boolean' }, 'Only enabled (`true`) or disabled (`false`) keypairs.'),
  Q: query('q', { type: 'string', maxLength: 100 }, 'Name contains this, regardless of case.'),
  EventAction: query('action', { type: 'string', maxLength: 100 }, 'Only this action, e.g. `keypair.rotated`.'),
  EventActor: query('actor', { type: 'string', maxLength: 100 }, 'Only events by this user id.'),
  EventEnvironment: query('environment', { type: 'string', maxLength: 100 }, 'Only events of this environment id.'),
  EventFrom: query('from', { type: 'string', format: 'date-time' }, 'At or after this instant (ISO 8601 with a time zone; URL-encode a `+`).'),
  EventTo: query('to', { type: 'string', format: 'date-time' }, 'Before this instant (ISO 8601 with a time zone; URL-encode a `+`).'),
  IfMatch: {
    name: 'If-Match',
    in: 'header',
    required: false,
    description: 'The `ETag` last read, e.g. `"3"` (or `W/"3"`): the change applies only if the keypair is still at that version (else 412). A value of another form is a 400.',
    schema: { type: 'string', pattern: '^(W/)?"[0-9]+"$' },
  },
};

/** Just enough of the OpenAPI 3.1 shape to describe this very response. */
const OPENAPI_DOCUMENT: Schema = {
  type: 'object',
  properties: { openapi: { type: 'string', const: '3.1.0' }, info: { type: 'object' }, paths: { type: 'object' } },
  required: ['openapi', 'info', 'paths'],
};

const UNKNOWN_QUERY = 'An unknown or repeated query parameter is a 400.';
const KEYPAIR_REACH = 'Account admins reach the account\'s keypairs and those of its environments; environment admins those of their environment; operators all. Anything else is a 404.';

function paths(): Record<string, Record<string, unknown>> {
  const keypairLists = (owner: 'account' | 'environment') => {
    const Owner = owner === 'account' ? 'Account' : 'Environment';
    const scope = owner === 'account' ? 'account-level keypairs (not those of its environments)' : "the environment's keypairs";
    return {
      parameters: [parameterRef(owner === 'account' ? 'AccountId' : 'EnvironmentId')],
      get: operation({
        id: `list${Owner}Keypairs`,
        tag: 'Keypairs',
        summary: `List ${scope}`,
        description: `Oldest first. ${KEYPAIR_REACH} ${UNKNOWN_QUERY}`,
        parameters: listQuery('keypairs'),
        responses: { 200: ok('One page of keypairs.', schemaRef('KeypairList')), ...failures(400, 401, 404) },
      }),
      post: operation({
        id: `create${Owner}Keypair`,
        tag: 'Keypairs',
        summary: `Create one of ${scope}`,
        description: `The response carries \`clientSecret\`, the only time it is shown. ${KEYPAIR_REACH}`,
        body: { schema: schemaRef('KeypairCreate'), required: true },
        responses: {
          201: ok('Created, with its secret.', schemaRef('KeypairWithSecret'), { Location: headerRef('Location'), ETag: headerRef('ETag'), 'Cache-Control': headerRef('Cache-Control') }),
          ...failures(...BODY_FAILURES, 401, 404, 409),
        },
      }),
    };
  };

  const adminGrant = (owner: 'account' | 'environment') => {
    const Owner = owner === 'account' ? 'Account' : 'Environment';
    const who = owner === 'account' ? 'Operators only; an account admin gets 403.' : "Account admins of the environment's account and operators; an environment admin gets 403.";
    return {
      parameters: [parameterRef(owner === 'account' ? 'AccountId' : 'EnvironmentId'), parameterRef('UserId')],
      put: operation({
        id: `grant${Owner}Admin`,
        tag: 'Admins',
        summary: `Make a user an admin of the ${owner}`,
        description: `Idempotent: 201 when the grant is new, 200 when it existed. ${who} \`userId\` is a user id or an email address. By id, account admins reach only users of their account (holding a grant on it or one of its environments); anyone else is a 404, like an unknown id. By email, the user with that address (A-Z folded) is granted, created when none has it: an invitation.`,
        responses: {
          200: ok('The grant existed already.', schemaRef('AdminGrant')),
          201: ok('Granted.', schemaRef('AdminGrant')),
          ...failures(400, 401, 403, 404, 409),
        },
      }),
      delete: operation({
        id: `revoke${Owner}Admin`,
        tag: 'Admins',
        summary: `Revoke a user's admin role on the ${owner}`,
        description: `404 when there is no such grant. ${who}`,
        responses: { 204: noContent('Revoked.'), ...failures(401, 403, 404) },
      }),
    };
  };

  return {
    '/openapi.json': {
      get: {
        ...operation({ id: 'getOpenApiDocument', tag: 'Meta', summary: 'This document', responses: { 200: ok('The OpenAPI 3.1 document.', OPENAPI_DOCUMENT) } }),
        security: [],
      },
    },
    '/me': {
      get: operation({ id: 'getMe', tag: 'Users', summary: 'The caller and its admin grants', responses: { 200: ok('The caller.', schemaRef('Me')), ...failures(401) } }),
    },

    '/accounts/{accountId}/keypairs': keypairLists('account'),
    '/environments/{environmentId}/keypairs': keypairLists('environment'),
    '/keypairs/{clientId}': {
      parameters: [parameterRef('ClientId')],
      get: operation({
        id: 'getKeypair',
        tag: 'Keypairs',
        summary: 'One keypair (never its secret)',
        description: KEYPAIR_REACH,
        responses: { 200: ok('The keypair.', schemaRef('Keypair'), { ETag: headerRef('ETag') }), ...failures(401, 404) },
      }),
      patch: operation({
        id: 'updateKeypair',
        tag: 'Keypairs',
        summary: 'Rename, comment, re-scope, disable or enable',
        description: `Fields left out keep their value; a change that changes nothing bumps no version. Honours \`If-Match\`. ${KEYPAIR_REACH}`,
        parameters: [parameterRef('IfMatch')],
        body: { schema: schemaRef('KeypairUpdate'), required: true },
        responses: {
          200: ok('The keypair as changed.', schemaRef('Keypair'), { ETag: headerRef('ETag') }),
          ...failures(...BODY_FAILURES, 401, 404, 409, 412),
        },
      }),
      delete: operation({
        id: 'deleteKeypair',
        tag: 'Keypairs',
        summary: 'Delete for good',
        description: `Tokens are refused from the next request on; the history stays readable. ${KEYPAIR_REACH}`,
        responses: { 204: noContent('Deleted.'), ...failures(401, 404) },
      }),
    },
    '/keypairs/{clientId}/rotate': {
      parameters: [parameterRef('ClientId')],
      post: operation({
        id: 'rotateKeypairSecret',
        tag: 'Keypairs',
        summary: 'Issue a new secret',
        description: `The new secret is in the response, the only time it is shown. The previous one lives \`gracePeriodSeconds\` more (default 0: it dies now). An empty body is \`{}\`. ${KEYPAIR_REACH}`,
        body: { schema: schemaRef('KeypairRotate'), required: false },
        responses: {
          200: ok('Rotated, with the new secret.', schemaRef('KeypairWithSecret'), { ETag: headerRef('ETag'), 'Cache-Control': headerRef('Cache-Control') }),
          ...failures(...BODY_FAILURES, 401, 404),
        },
      }),
    },
    '/keypairs/{clientId}/usage': {
      parameters: [parameterRef('ClientId')],
      get: operation({
        id: 'getKeypairUsage',
        tag: 'Usage',
        summary: "A keypair's usage",
        description: `Totals for 24 hours and 7 days, refusals by reason, top resources and scopes, an hourly series and the last 20 requests. Records are written in batches; this process's are flushed first. ${KEYPAIR_REACH}`,
        responses: { 200: ok('The usage summary.', schemaRef('KeypairUsage')), ...failures(401, 404) },
      }),
    },
    '/keypairs/{clientId}/events': {
      parameters: [parameterRef('ClientId')],
      get: operation({
        id: 'listKeypairEvents',
        tag: 'History',
        summary: "A keypair's history",
        description: `Newest first; readable after the keypair is deleted, by whoever reaches its owner. ${UNKNOWN_QUERY}`,
        parameters: listQuery('events'),
        responses: { 200: ok('One page of events.', schemaRef('AuditEventList')), ...failures(400, 401, 404) },
      }),
    },

    '/accounts': {
      get: operation({
        id: 'listAccounts',
        tag: 'Accounts',
        summary: 'Accounts the caller can see',
        description: 'Operators see every active account, account admins theirs, environment admins none.',
        responses: { 200: ok('Every visible account.', schemaRef('AccountList')), ...failures(401) },
      }),
      post: operation({
        id: 'createAccount',
        tag: 'Accounts',
        summary: 'Create an account',
        description: 'Operators only.',
        body: { schema: schemaRef('NameInput'), required: true },
        responses: { 201: ok('Created.', schemaRef('Account'), { Location: headerRef('Location') }), ...failures(...BODY_FAILURES, 401, 403) },
      }),
    },
    '/accounts/{accountId}': {
      parameters: [parameterRef('AccountId')],
      get: operation({
        id: 'getAccount',
        tag: 'Accounts',
        summary: 'One account',
        description: 'Operators and its account admins; a closed account is a 404.',
        responses: { 200: ok('The account.', schemaRef('Account')), ...failures(401, 404) },
      }),
      patch: operation({
        id: 'renameAccount',
        tag: 'Accounts',
        summary: 'Rename an account',
        description: 'Operators only; its account admins get 403. 409 if it was closed meanwhile.',
        body: { schema: schemaRef('NameInput'), required: true },
        responses: { 200: ok('The account as renamed.', schemaRef('Account')), ...failures(...BODY_FAILURES, 401, 403, 404, 409) },
      }),
      delete: operation({
        id: 'closeAccount',
        tag: 'Accounts',
        summary: 'Close an account',
        description: 'Closes it and its environments, deletes all their keypairs (each deletion audited) and lapses their admin grants. Operators only; its account admins get 403.',
        responses: { 204: noContent('Closed.'), ...failures(401, 403, 404) },
      }),
    },
    '/accounts/{accountId}/events': {
      parameters: [parameterRef('AccountId')],
      get: operation({
        id: 'listAccountEvents',
        tag: 'History',
        summary: "An account's history, its environments' included",
        description: `Newest first. Operators and its account admins. ${UNKNOWN_QUERY}`,
        parameters: listQuery('events'),
        responses: { 200: ok('One page of events.', schemaRef('AuditEventList')), ...failures(400, 401, 404) },
      }),
    },
    '/accounts/{accountId}/environments': {
      parameters: [parameterRef('AccountId')],
      get: operation({
        id: 'listEnvironments',
        tag: 'Environments',
        summary: "An account's active environments",
        description: 'Operators and its account admins.',
        responses: { 200: ok('Every active environment of the account.', schemaRef('EnvironmentList')), ...failures(401, 404) },
      }),
      post: operation({
        id: 'createEnvironment',
        tag: 'Environments',
        summary: 'Create an environment',
        description: 'Operators and its account admins.',
        body: { schema: schemaRef('NameInput'), required: true },
        responses: { 201: ok('Created.', schemaRef('Environment'), { Location: headerRef('Location') }), ...failures(...BODY_FAILURES, 401, 404) },
      }),
    },
    '/accounts/{accountId}/admins/{userId}': adminGrant('account'),
    '/environments/{environmentId}': {
      parameters: [parameterRef('EnvironmentId')],
      get: operation({
        id: 'getEnvironment',
        tag: 'Environments',
        summary: 'One environment',
        description: "Operators, the account's admins and its own admins; a closed one is a 404.",
        responses: { 200: ok('The environment.', schemaRef('Environment')), ...failures(401, 404) },
      }),
      patch: operation({
        id: 'renameEnvironment',
        tag: 'Environments',
        summary: 'Rename an environment',
        description: "Operators and the account's admins; its environment admins get 403. 409 if it was closed meanwhile.",
        body: { schema: schemaRef('NameInput'), required: true },
        responses: { 200: ok('The environment as renamed.', schemaRef('Environment')), ...failures(...BODY_FAILURES, 401, 403, 404, 409) },
      }),
      delete: operation({
        id: 'closeEnvironment',
        tag: 'Environments',
        summary: 'Close an environment',
        description: "Deletes its keypairs (each deletion audited) and lapses its admin grants. Operators and the account's admins; its environment admins get 403.",
        responses: { 204: noContent('Closed.'), ...failures(401, 403, 404) },
      }),
    },
    '/environments/{environmentId}/admins/{userId}': adminGrant('environment'),

    '/users': {
      get: operation({ id: 'listUsers', tag: 'Users', summary: 'Every user', description: 'Operators only.', responses: { 200: ok('Every user.', schemaRef('UserList')), ...failures(401, 403) } }),
      post: operation({
        id: 'createUser',
        tag: 'Users',
        summary: 'Create a user',
        description: 'Operators only. 409 when the email is taken (regardless of case).',
        body: { schema: schemaRef('UserCreate'), required: true },
        responses: { 201: ok('Created.', schemaRef('User'), { Location: headerRef('Location') }), ...failures(...BODY_FAILURES, 401, 403, 409) },
      }),
    },
    '/users/{userId}': {
      parameters: [parameterRef('UserId')],
      get: operation({
        id: 'getUser',
        tag: 'Users',
        summary: 'One user and its grants',
        description: 'Operators read anyone; others only themselves (anyone else is a 404).',
        responses: { 200: ok('The user.', schemaRef('UserWithMemberships')), ...failures(401, 404) },
      }),
      patch: operation({
        id: 'updateUser',
        tag: 'Users',
        summary: "Change a user's name or operator role",
        description: 'Operators only: a non-operator gets 403 on itself and 404 on anyone else.',
        body: { schema: schemaRef('UserUpdate'), required: true },
        responses: { 200: ok('The user as changed.', schemaRef('User')), ...failures(...BODY_FAILURES, 401, 403, 404, 409) },
      }),
    },

    '/resource-servers': {
      get: operation({
        id: 'listResourceServers',
        tag: 'Resource servers',
        summary: 'The resource servers and their scope catalogues',
        description: 'Operators see every one; other admins those available to an account they administer (what their keypairs may be granted).',
        responses: { 200: ok('The resource servers visible to the caller.', schemaRef('ResourceServerList')), ...failures(401) },
      }),
      post: operation({
        id: 'createResourceServer',
        tag: 'Resource servers',
        summary: 'Create a resource server',
        description: 'Operators only. 409 when the identifier is taken.',
        body: { schema: schemaRef('ResourceServerCreate'), required: true },
        responses: { 201: ok('Created.', schemaRef('ResourceServer'), { Location: headerRef('Location') }), ...failures(...BODY_FAILURES, 401, 403, 409) },
      }),
    },
    '/resource-servers/{id}': {
      parameters: [parameterRef('ResourceServerId')],
      get: operation({
        id: 'getResourceServer',
        tag: 'Resource servers',
        summary: 'One resource server',
        description: 'Every admin may read one available to an account it administers; any other is a 404.',
        responses: { 200: ok('The resource server.', schemaRef('ResourceServer')), ...failures(401, 404) },
      }),
      patch: operation({
        id: 'updateResourceServer',
        tag: 'Resource servers',
        summary: 'Change a resource server',
        description: 'Operators only. The identifier cannot change.',
        body: { schema: schemaRef('ResourceServerUpdate'), required: true },
        responses: { 200: ok('The resource server as changed.', schemaRef('ResourceServer')), ...failures(...BODY_FAILURES, 401, 403, 404, 409) },
      }),
    },
  };
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
        'An object outside the caller\'s reach answers 404, exactly like one that does not exist; 403 means the caller sees it but may not do this.',
    },
    servers: [{ url: `${issuer}/admin/v1` }],
    security: [{ bearerAuth: [] }],
    tags: ['Keypairs', 'Usage', 'History', 'Accounts', 'Environments', 'Admins', 'Users', 'Resource servers', 'Meta'].map((name) => ({ name })),
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
      schemas: SCHEMAS,
      parameters: PARAMETERS,
      responses: RESPONSES,
      headers: HEADERS,
    },
  };
}
