import type { IncomingMessage, ServerResponse } from 'node:http';
import Koa, { type Middleware } from 'koa';
import { isProviderRequest } from '../oauth/routes.js';
import type { RequestLog } from './request_log.js';

export type RequestListener = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

export interface HttpAppDeps {
  readonly requestLog: RequestLog;
  /** oidc-provider's own handler: the current one (it is rebuilt when the signing keys are reloaded). */
  readonly provider: () => RequestListener;
  /** Keygate's routes, in the order they are tried. */
  readonly ops: Middleware;
  readonly statusLists: Middleware;
  readonly oauth: Middleware;
  readonly admin: Middleware;
  readonly console: Middleware;
}

/**
 * Keygate's HTTP surface, as Node's request listener: every request gets its id and
 * one access line (request_log.ts), then goes to oidc-provider or to Keygate's routes.
 */
export function httpApp(deps: HttpAppDeps): RequestListener {
  const { requestLog } = deps;
  const app = new Koa();
  app.silent = true;
  app.use(async (ctx, next) => {
    const line = requestLog.begin(ctx.req, ctx.res, ctx.path);
    ctx.state.requestId = line.requestId;
    try {
      await next();
    } finally {
      const route = (ctx as { _matchedRoute?: unknown })._matchedRoute;
      line.end({ status: ctx.respond === false ? ctx.res.statusCode : ctx.status, route: typeof route === 'string' ? route : undefined });
    }
  });
  app.use(deps.ops);
  app.use(deps.statusLists);
  app.use(deps.oauth);
  app.use(deps.admin);
  app.use(deps.console);
  app.use((ctx) => {
    ctx.status = 404;
    ctx.body = { error: 'not_found', error_description: `no route for ${ctx.method} ${ctx.path}` };
  });
  const koaHandler = app.callback();

  /**
   * The token and JWKS requests go straight to oidc-provider (itself a Koa app)
   * without a Koa context of Keygate's: on the hot path that second context is
   * measurable. Everything else, wrong methods included, goes through Keygate's app.
   */
  return (req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0]!;
    if (!isProviderRequest(req.method, path)) return koaHandler(req, res);
    const line = requestLog.begin(req, res, path);
    res.once('finish', () => line.end({ status: res.statusCode }));
    return deps.provider()(req, res);
  };
}
