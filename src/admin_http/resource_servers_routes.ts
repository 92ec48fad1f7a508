import Router from '@koa/router';
import { isOperator } from '../access/policy.js';
import { accountsReachedBy, requireAllowed } from '../access/reach.js';
import { parseResourceServerCreate, parseResourceServerUpdate } from '../contract/parse.js';
import type { ResourceServerService } from '../resource_servers/service.js';
import { readJsonBody } from './body.js';
import { actorFor, principalOf } from './context.js';
import { resourceServerView } from './views.js';

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
    const body = parseResourceServerUpdate(await readJsonBody(ctx));
    ctx.body = resourceServerView(await deps.resourceServers.update(actorFor(ctx), ctx.params.id!, body));
  });

  return router;
}
