import Router from '@koa/router';
import compose from 'koa-compose';
import type { Middleware } from 'koa';
import type { Authenticator } from '../access/authenticate.js';
import type { AuditHistory } from '../audit/query.js';
import type { KeypairService } from '../keypairs/service.js';
import type { ResourceServerService } from '../resource_servers/service.js';
import type { TrustedIssuerService } from '../federation/service.js';
import type { Clock } from '../shared/clock.js';
import type { Logger } from '../shared/log.js';
import type { TenancyService } from '../tenancy/service.js';
import type { UsageReport } from '../usage/report.js';
import { actorOf } from '../access/principal.js';
import type { AdminState } from './context.js';
import { keypairRoutes } from './keypairs_routes.js';
import { openApiDocument } from './openapi.js';
import { problemMiddleware, renderProblem } from './problem.js';
import { resourceServerRoutes } from './resource_servers_routes.js';
import { tenancyRoutes } from './tenancy_routes.js';
import { trustedIssuerRoutes } from './trusted_issuers_routes.js';

export interface AdminDeps {
  readonly authenticator: Authenticator;
  readonly keypairs: KeypairService;
  readonly tenancy: TenancyService;
  readonly resourceServers: ResourceServerService;
  readonly trustedIssuers: TrustedIssuerService;
  readonly history: AuditHistory;
  readonly usage: UsageReport;
  readonly clock: Clock;
  readonly log: Logger;
  readonly issuer: string;
  /** TRUST_PROXY: the audit trail records the client's address the way the token endpoint reads it. */
  readonly trustProxyHops: number;
}

export const ADMIN_PREFIX = '/admin/v1';

/**
 * Everything under `/admin/v1`: the routes, 405 with Allow for a known path and a
 * wrong method, and a problem+json 404 for an unknown path.
 */
export function adminMiddleware(deps: AdminDeps): Middleware {
  const router = adminRouter(deps);
  const handle = compose([problemMiddleware(deps.log), router.routes(), router.allowedMethods()] as Middleware[]);
  // The admin API ends here: an unmatched path is its own 404, never another handler's.
  const end = async () => undefined;
  return (ctx, next) => {
    if (ctx.path !== ADMIN_PREFIX && !ctx.path.startsWith(`${ADMIN_PREFIX}/`)) return next();
    // No id holds a NUL (PostgreSQL text cannot): such a path names nothing.
    if (/%00/.test(ctx.path)) {
      renderProblem(ctx, 404, 'not_found', 'Not found', 'Not found.');
      return Promise.resolve();
    }
    return handle(ctx, end);
  };
}

/** `/admin/v1`: JSON, Bearer admin tokens, problem+json errors. */
export function adminRouter(deps: AdminDeps): Router {
  const router = new Router({ prefix: ADMIN_PREFIX });

  // The API reference is public: it describes, it reveals nothing.
  router.get('/openapi.json', (ctx) => {
    ctx.body = openApiDocument(deps.issuer);
  });

  router.use(async (ctx, next) => {
    if (ctx.path === '/admin/v1/openapi.json') return next();
    const principal = await deps.authenticator.authenticate(ctx.get('Authorization') || undefined);
    const state = ctx.state as AdminState;
    state.principal = principal;
    state.actor = actorOf(principal, ctx, deps.trustProxyHops);
    ctx.set('Cache-Control', 'no-store');
    await next();
  });

  for (const child of [keypairRoutes(deps), tenancyRoutes(deps), resourceServerRoutes(deps), trustedIssuerRoutes(deps)]) {
    router.use(child.routes(), child.allowedMethods());
  }
  return router;
}
