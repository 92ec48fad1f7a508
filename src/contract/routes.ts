import type { TSchema } from 'typebox';
import { AuditEventListSchema, EventsQuerySchema, KeypairListQuerySchema, KeypairUsageSchema } from './activity.js';
import { KeypairCreateSchema, KeypairListSchema, KeypairRotateSchema, KeypairSchema, KeypairUpdateSchema, KeypairWithSecretSchema } from './keypairs.js';
import { ResourceServerCreateSchema, ResourceServerListSchema, ResourceServerSchema, ResourceServerUpdateSchema } from './resource_servers.js';
import { TrustedIssuerCreateSchema, TrustedIssuerListSchema, TrustedIssuerSchema, TrustedIssuerUpdateSchema } from './trusted_issuers.js';
import {
  AccountListSchema,
  AccountSchema,
  AdminGrantSchema,
  EnvironmentListSchema,
  EnvironmentSchema,
  MeSchema,
  NameInputSchema,
  UserCreateSchema,
  UserListSchema,
  UserSchema,
  UserUpdateSchema,
  UserWithMembershipsSchema,
} from './tenancy.js';

/**
 * Every route of `/admin/v1` but the document itself: what it takes and what it
 * answers. The OpenAPI document (admin_http/openapi.ts) is generated from this
 * table and the schemas it names; test/admin_http/openapi.test.ts checks the table
 * against the router and every answer against the document.
 */

export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';
/** The problem+json answers a route may give. */
export type FailureStatus = 400 | 401 | 403 | 404 | 409 | 412 | 413 | 415;
/** Response headers the document describes (openapi.ts HEADERS). */
export type ResponseHeader = 'ETag' | 'Location' | 'Cache-Control';

export interface Answer {
  readonly description: string;
  /** The body; none for 204. */
  readonly schema?: TSchema;
  readonly headers?: readonly ResponseHeader[];
}

export interface Route {
  readonly method: Method;
  /** OpenAPI template under /admin/v1, e.g. `/keypairs/{clientId}`. */
  readonly path: string;
  readonly id: string;
  readonly tag: string;
  readonly summary: string;
  readonly description?: string;
  readonly query?: TSchema;
  /** Honours `If-Match`. */
  readonly ifMatch?: boolean;
  readonly body?: { readonly schema: TSchema; readonly required: boolean };
  readonly answers: Readonly<Record<number, Answer>>;
  readonly failures: readonly FailureStatus[];
}

/** Statuses of every operation that reads a JSON body (body.ts). */
const BODY: FailureStatus[] = [400, 413, 415];
const UNKNOWN_QUERY = 'An unknown or repeated query parameter is a 400.';
const KEYPAIR_REACH = "Account admins reach the account's keypairs and those of its environments; environment admins those of their environment; operators all. Anything else is a 404.";

function keypairLists(owner: 'account' | 'environment'): Route[] {
  const Owner = owner === 'account' ? 'Account' : 'Environment';
  const path = owner === 'account' ? '/accounts/{accountId}/keypairs' : '/environments/{environmentId}/keypairs';
  const scope = owner === 'account' ? 'account-level keypairs (not those of its environments)' : "the environment's keypairs";
  return [
    { method: 'get', path, id: `list${Owner}Keypairs`, tag: 'Keypairs', summary: `List ${scope}`, description: `Oldest first. ${KEYPAIR_REACH} ${UNKNOWN_QUERY}`, query: KeypairListQuerySchema, answers: { 200: { description: 'One page of keypairs.', schema: KeypairListSchema } }, failures: [400, 401, 404] },
    {
      method: 'post',
      path,
      id: `create${Owner}Keypair`,
      tag: 'Keypairs',
      summary: `Create one of ${scope}`,
      description: `The response carries \`clientSecret\`, the only time it is shown. ${KEYPAIR_REACH}`,
      body: { schema: KeypairCreateSchema, required: true },
      answers: { 201: { description: 'Created, with its secret.', schema: KeypairWithSecretSchema, headers: ['Location', 'ETag', 'Cache-Control'] } },
      failures: [...BODY, 401, 404, 409],
    },
  ];
}

function adminGrants(owner: 'account' | 'environment'): Route[] {
  const Owner = owner === 'account' ? 'Account' : 'Environment';
  const path = owner === 'account' ? '/accounts/{accountId}/admins/{userId}' : '/environments/{environmentId}/admins/{userId}';
  const who = owner === 'account' ? 'Operators only; an account admin gets 403.' : "Account admins of the environment's account and operators; an environment admin gets 403.";
  return [
    {
      method: 'put',
      path,
      id: `grant${Owner}Admin`,
      tag: 'Admins',
      summary: `Make a user an admin of the ${owner}`,
      description: `Idempotent: 201 when the grant is new, 200 when it existed. ${who} \`userId\` is a user id or an email address. By id, account admins reach only users of their account (holding a grant on it or one of its environments); anyone else is a 404, like an unknown id. By email, the user with that address (A-Z folded) is granted, created when none has it: an invitation.`,
      answers: { 200: { description: 'The grant existed already.', schema: AdminGrantSchema }, 201: { description: 'Granted.', schema: AdminGrantSchema } },
      failures: [400, 401, 403, 404, 409],
    },
    { method: 'delete', path, id: `revoke${Owner}Admin`, tag: 'Admins', summary: `Revoke a user's admin role on the ${owner}`, description: `404 when there is no such grant. ${who}`, answers: { 204: { description: 'Revoked.' } }, failures: [401, 403, 404] },
  ];
}

const KEYPAIR_ROUTES: Route[] = [
  ...keypairLists('account'),
  ...keypairLists('environment'),
  { method: 'get', path: '/keypairs/{clientId}', id: 'getKeypair', tag: 'Keypairs', summary: 'One keypair (never its secret)', description: KEYPAIR_REACH, answers: { 200: { description: 'The keypair.', schema: KeypairSchema, headers: ['ETag'] } }, failures: [401, 404] },
  {
    method: 'patch',
    path: '/keypairs/{clientId}',
    id: 'updateKeypair',
    tag: 'Keypairs',
    summary: 'Rename, comment, re-scope, disable or enable',
    description: `Fields left out keep their value; a change that changes nothing bumps no version. Honours \`If-Match\`. ${KEYPAIR_REACH}`,
    ifMatch: true,
    body: { schema: KeypairUpdateSchema, required: true },
    answers: { 200: { description: 'The keypair as changed.', schema: KeypairSchema, headers: ['ETag'] } },
    failures: [...BODY, 401, 404, 409, 412],
  },
  { method: 'delete', path: '/keypairs/{clientId}', id: 'deleteKeypair', tag: 'Keypairs', summary: 'Delete for good', description: `Tokens are refused from the next request on; the history stays readable. ${KEYPAIR_REACH}`, answers: { 204: { description: 'Deleted.' } }, failures: [401, 404] },
  {
    method: 'post',
    path: '/keypairs/{clientId}/rotate',
    id: 'rotateKeypairSecret',
    tag: 'Keypairs',
    summary: 'Issue a new secret',
    description: `The new secret is in the response, the only time it is shown. The previous one lives \`gracePeriodSeconds\` more (default 0: it dies now). An empty body is \`{}\`. ${KEYPAIR_REACH}`,
    body: { schema: KeypairRotateSchema, required: false },
    answers: { 200: { description: 'Rotated, with the new secret.', schema: KeypairWithSecretSchema, headers: ['ETag', 'Cache-Control'] } },
    failures: [...BODY, 401, 404],
  },
  {
    method: 'get',
    path: '/keypairs/{clientId}/usage',
    id: 'getKeypairUsage',
    tag: 'Usage',
    summary: "A keypair's usage",
    description: `Totals for 24 hours and 7 days, refusals by reason, top resources and scopes, an hourly series and the last 20 requests. Records are written in batches; this process's are flushed first. ${KEYPAIR_REACH}`,
    answers: { 200: { description: 'The usage summary.', schema: KeypairUsageSchema } },
    failures: [401, 404],
  },
  {
    method: 'get',
    path: '/keypairs/{clientId}/events',
    id: 'listKeypairEvents',
    tag: 'History',
    summary: "A keypair's history",
    description: `Newest first; readable after the keypair is deleted, by whoever reaches its owner. ${UNKNOWN_QUERY}`,
    query: EventsQuerySchema,
    answers: { 200: { description: 'One page of events.', schema: AuditEventListSchema } },
    failures: [400, 401, 404],
  },
];

const TENANCY_ROUTES: Route[] = [
  { method: 'get', path: '/me', id: 'getMe', tag: 'Users', summary: 'The caller and its admin grants', answers: { 200: { description: 'The caller.', schema: MeSchema } }, failures: [401] },
  { method: 'get', path: '/accounts', id: 'listAccounts', tag: 'Accounts', summary: 'Accounts the caller can see', description: 'Operators see every active account, account admins theirs, environment admins none.', answers: { 200: { description: 'Every visible account.', schema: AccountListSchema } }, failures: [401] },
  { method: 'post', path: '/accounts', id: 'createAccount', tag: 'Accounts', summary: 'Create an account', description: 'Operators only.', body: { schema: NameInputSchema, required: true }, answers: { 201: { description: 'Created.', schema: AccountSchema, headers: ['Location'] } }, failures: [...BODY, 401, 403] },
  { method: 'get', path: '/accounts/{accountId}', id: 'getAccount', tag: 'Accounts', summary: 'One account', description: 'Operators and its account admins; a closed account is a 404.', answers: { 200: { description: 'The account.', schema: AccountSchema } }, failures: [401, 404] },
  { method: 'patch', path: '/accounts/{accountId}', id: 'renameAccount', tag: 'Accounts', summary: 'Rename an account', description: 'Operators only; its account admins get 403. 409 if it was closed meanwhile.', body: { schema: NameInputSchema, required: true }, answers: { 200: { description: 'The account as renamed.', schema: AccountSchema } }, failures: [...BODY, 401, 403, 404, 409] },
  {
    method: 'delete',
    path: '/accounts/{accountId}',
    id: 'closeAccount',
    tag: 'Accounts',
    summary: 'Close an account',
    description: 'Closes it and its environments, deletes all their keypairs (each deletion audited) and lapses their admin grants. Operators only; its account admins get 403.',
    answers: { 204: { description: 'Closed.' } },
    failures: [401, 403, 404],
  },
  { method: 'get', path: '/accounts/{accountId}/events', id: 'listAccountEvents', tag: 'History', summary: "An account's history, its environments' included", description: `Newest first. Operators and its account admins. ${UNKNOWN_QUERY}`, query: EventsQuerySchema, answers: { 200: { description: 'One page of events.', schema: AuditEventListSchema } }, failures: [400, 401, 404] },
  { method: 'get', path: '/accounts/{accountId}/environments', id: 'listEnvironments', tag: 'Environments', summary: "An account's active environments", description: 'Operators and its account admins.', answers: { 200: { description: 'Every active environment of the account.', schema: EnvironmentListSchema } }, failures: [401, 404] },
  { method: 'post', path: '/accounts/{accountId}/environments', id: 'createEnvironment', tag: 'Environments', summary: 'Create an environment', description: 'Operators and its account admins.', body: { schema: NameInputSchema, required: true }, answers: { 201: { description: 'Created.', schema: EnvironmentSchema, headers: ['Location'] } }, failures: [...BODY, 401, 404] },
  ...adminGrants('account'),
  { method: 'get', path: '/environments/{environmentId}', id: 'getEnvironment', tag: 'Environments', summary: 'One environment', description: "Operators, the account's admins and its own admins; a closed one is a 404.", answers: { 200: { description: 'The environment.', schema: EnvironmentSchema } }, failures: [401, 404] },
  {
    method: 'patch',
    path: '/environments/{environmentId}',
    id: 'renameEnvironment',
    tag: 'Environments',
    summary: 'Rename an environment',
    description: "Operators and the account's admins; its environment admins get 403. 409 if it was closed meanwhile.",
    body: { schema: NameInputSchema, required: true },
    answers: { 200: { description: 'The environment as renamed.', schema: EnvironmentSchema } },
    failures: [...BODY, 401, 403, 404, 409],
  },
  {
    method: 'delete',
    path: '/environments/{environmentId}',
    id: 'closeEnvironment',
    tag: 'Environments',
    summary: 'Close an environment',
    description: "Deletes its keypairs (each deletion audited) and lapses its admin grants. Operators and the account's admins; its environment admins get 403.",
    answers: { 204: { description: 'Closed.' } },
    failures: [401, 403, 404],
  },
  ...adminGrants('environment'),
  { method: 'get', path: '/users', id: 'listUsers', tag: 'Users', summary: 'Every user', description: 'Operators only.', answers: { 200: { description: 'Every user.', schema: UserListSchema } }, failures: [401, 403] },
  { method: 'post', path: '/users', id: 'createUser', tag: 'Users', summary: 'Create a user', description: 'Operators only. 409 when the email is taken (regardless of case).', body: { schema: UserCreateSchema, required: true }, answers: { 201: { description: 'Created.', schema: UserSchema, headers: ['Location'] } }, failures: [...BODY, 401, 403, 409] },
  { method: 'get', path: '/users/{userId}', id: 'getUser', tag: 'Users', summary: 'One user and its grants', description: 'Operators read anyone; others only themselves (anyone else is a 404).', answers: { 200: { description: 'The user.', schema: UserWithMembershipsSchema } }, failures: [401, 404] },
  { method: 'patch', path: '/users/{userId}', id: 'updateUser', tag: 'Users', summary: "Change a user's name or operator role", description: 'Operators only: a non-operator gets 403 on itself and 404 on anyone else.', body: { schema: UserUpdateSchema, required: true }, answers: { 200: { description: 'The user as changed.', schema: UserSchema } }, failures: [...BODY, 401, 403, 404, 409] },
];

const RESOURCE_SERVER_ROUTES: Route[] = [
  {
    method: 'get',
    path: '/resource-servers',
    id: 'listResourceServers',
    tag: 'Resource servers',
    summary: 'The resource servers and their scope catalogues',
    description: 'Operators see every one; other admins those available to an account they administer (what their keypairs may be granted).',
    answers: { 200: { description: 'The resource servers visible to the caller.', schema: ResourceServerListSchema } },
    failures: [401],
  },
  { method: 'post', path: '/resource-servers', id: 'createResourceServer', tag: 'Resource servers', summary: 'Create a resource server', description: 'Operators only. 409 when the identifier is taken.', body: { schema: ResourceServerCreateSchema, required: true }, answers: { 201: { description: 'Created.', schema: ResourceServerSchema, headers: ['Location'] } }, failures: [...BODY, 401, 403, 409] },
  { method: 'get', path: '/resource-servers/{id}', id: 'getResourceServer', tag: 'Resource servers', summary: 'One resource server', description: 'Every admin may read one available to an account it administers; any other is a 404.', answers: { 200: { description: 'The resource server.', schema: ResourceServerSchema } }, failures: [401, 404] },
  { method: 'patch', path: '/resource-servers/{id}', id: 'updateResourceServer', tag: 'Resource servers', summary: 'Change a resource server', description: 'Operators only. The identifier cannot change.', body: { schema: ResourceServerUpdateSchema, required: true }, answers: { 200: { description: 'The resource server as changed.', schema: ResourceServerSchema } }, failures: [...BODY, 401, 403, 404, 409] },
];

const TRUSTED_ISSUER_READERS = "Every admin may read them (an admin who is no operator counts in `keypairCount` only the keypairs it manages).";

const TRUSTED_ISSUER_ROUTES: Route[] = [
  { method: 'get', path: '/trusted-issuers', id: 'listTrustedIssuers', tag: 'Trusted issuers', summary: 'The issuers whose tokens federated keypairs accept', description: TRUSTED_ISSUER_READERS, answers: { 200: { description: 'Every trusted issuer.', schema: TrustedIssuerListSchema } }, failures: [401] },
  {
    method: 'post',
    path: '/trusted-issuers',
    id: 'createTrustedIssuer',
    tag: 'Trusted issuers',
    summary: 'Trust a workload identity issuer',
    description: 'Operators only. 409 when the issuer is trusted already.',
    body: { schema: TrustedIssuerCreateSchema, required: true },
    answers: { 201: { description: 'Created.', schema: TrustedIssuerSchema, headers: ['Location', 'ETag'] } },
    failures: [...BODY, 401, 403, 409],
  },
  { method: 'get', path: '/trusted-issuers/{id}', id: 'getTrustedIssuer', tag: 'Trusted issuers', summary: 'One trusted issuer', description: TRUSTED_ISSUER_READERS, answers: { 200: { description: 'The trusted issuer.', schema: TrustedIssuerSchema, headers: ['ETag'] } }, failures: [401, 404] },
  {
    method: 'patch',
    path: '/trusted-issuers/{id}',
    id: 'updateTrustedIssuer',
    tag: 'Trusted issuers',
    summary: 'Change a trusted issuer',
    description: 'Operators only. Fields left out keep their value; a change that changes nothing bumps no version. Every process re-reads the keypairs that use it. 409 when the new issuer is trusted already. Honours `If-Match`.',
    ifMatch: true,
    body: { schema: TrustedIssuerUpdateSchema, required: true },
    answers: { 200: { description: 'The trusted issuer as changed.', schema: TrustedIssuerSchema, headers: ['ETag'] } },
    failures: [...BODY, 401, 403, 404, 409, 412],
  },
  { method: 'delete', path: '/trusted-issuers/{id}', id: 'deleteTrustedIssuer', tag: 'Trusted issuers', summary: 'Stop trusting an issuer', description: 'Operators only. 409, saying how many, while keypairs use it: nothing is deleted.', answers: { 204: { description: 'Deleted.' } }, failures: [401, 403, 404, 409] },
];

export const ADMIN_ROUTES: readonly Route[] = [...KEYPAIR_ROUTES, ...TENANCY_ROUTES, ...RESOURCE_SERVER_ROUTES, ...TRUSTED_ISSUER_ROUTES];
