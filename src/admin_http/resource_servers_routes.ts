import Router from '@koa/router';
import { isOperator } from '../access/policy.js';
import { accountsReachedBy, requireAllowed } from '../access/reach.js';
import type { ResourceServerService } from '../resource_servers/service.js';
import type { ScopeDefinition } from '../resource_servers/store.js';
import { readJsonBody } from './body.js';
import { actorFor, principalOf } from './context.js';
import { array, boolean, integer, nullable, optional, parseObject, scopeName, string, type Parser } from './schema.js';
import { resourceServerView } from './views.js';

const scopeDefinition: Parser<ScopeDefinition> = (value) => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, message: 'must be {"name", "description"}' };
  const { name, description, ...rest } = value as Record<string, unknown>;
  if (Object.keys(rest).length > 0) return { ok: false, message: 'takes only name and description' };
  const parsedName = scopeName(name);
  if (!parsedName.ok) return { ok: false, message: `name ${parsedName.message}` };
  const parsedDescription = optional(string({ max: 500 }))(description);
  if (!parsedDescription.ok) return { ok: false, message: `description ${parsedDescription.message}` };
  return { ok: true, value: { name: parsedName.value, description: parsedDescription.value ?? '' } };
};

const identifier: Parser<string> = (value) => {
  if (typeof value !== 'string' || value.length > 500) return { ok: false, message: 'must be an absolute URI of at most 500 characters' };
  const url = URL.parse(value);
  if (!url) return { ok: false, message: 'must be an absolute URI' };
  if (url.hash) return { ok: false, message: 'must not have a fragment (RFC 8707)' };
  return { ok: true, value };
};

const scopes: Parser<ScopeDefinition[]> = (value) => {
  const parsed = array(scopeDefinition, { max: 200 })(value);
  if (parsed.ok && new Set(parsed.value.map((scope) => scope.name)).size !== parsed.value.length) return { ok: false, message: 'must not define a scope twice' };
  return parsed;
};

/** Most accounts one resource server names in availableTo: 1000. */
const MAX_AVAILABLE_TO = 1000;
/** Account ids a resource server is limited to; null: every account. */
const availableTo = nullable(array(string({ min: 1, max: 100 }), { max: MAX_AVAILABLE_TO, unique: true }));

/** Token lifetime, 60 s to 1 day (the cap that `keys retire` relies on). */
const accessTokenTtl = integer(60, 86_400);

/** A create body, checked as the admin API checks it (the console's form arrives here too). */
export function parseResourceServerCreate(input: Record<string, unknown>) {
  return parseObject(input, { identifier, name: string({ min: 1, max: 100, trim: true }), scopes, accessTokenTtl: optional(accessTokenTtl), isDefault: optional(boolean), availableTo: optional(availableTo) });
}

export function resourceServerRoutes(deps: { resourceServers: ResourceServerService }): Router {
  const router = new Router();

  // Every admin reads the catalogue it may grant from: servers available to an account it administers.
  router.get('/resource-servers', (ctx) => {
    const reader = accountsReachedBy(principalOf(ctx));
    ctx.body = { data: deps.resourceServers.list(reader).map((server) => resourceServerView(server, reader)), nextCursor: null };
  });

  router.get('/resource-servers/:id', (ctx) => {
    const reader = accountsReachedBy(principalOf(ctx));
    ctx.body = resourceServerView(deps.resourceServers.get(ctx.params.id!, reader), reader);
  });

  router.post('/resource-servers', async (ctx) => {
    requireAllowed(isOperator(principalOf(ctx)), 'create resource servers');
    const body = parseResourceServerCreate(await readJsonBody(ctx));
    const server = await deps.resourceServers.create(actorFor(ctx), body);
    ctx.status = 201;
    ctx.set('Location', `/admin/v1/resource-servers/${server.id}`);
    ctx.body = resourceServerView(server);
  });

  router.patch('/resource-servers/:id', async (ctx) => {
    requireAllowed(isOperator(principalOf(ctx)), 'change resource servers');
    deps.resourceServers.get(ctx.params.id!);
    const body = parseObject(await readJsonBody(ctx), {
      name: optional(string({ min: 1, max: 100, trim: true })),
      scopes: optional(scopes),
      accessTokenTtl: optional(accessTokenTtl),
      isDefault: optional(boolean),
      availableTo: optional(availableTo),
    });
    ctx.body = resourceServerView(await deps.resourceServers.update(actorFor(ctx), ctx.params.id!, body));
  });

  return router;
}
