import Router from '@koa/router';
import type { Knex } from 'knex';
import type { Context, Middleware, Next } from 'koa';
import compose from 'koa-compose';
import type { Authenticator } from '../access/authenticate.js';
import { Reach } from '../access/reach.js';
import type { AuditHistory } from '../audit/query.js';
import type { KeypairService } from '../keypairs/service.js';
import type { ResourceServerCatalog } from '../resource_servers/catalog.js';
import type { ResourceServerService } from '../resource_servers/service.js';
import type { Clock } from '../shared/clock.js';
import type { Logger } from '../shared/log.js';
import type { TenancyService } from '../tenancy/service.js';
import type { UsageReport } from '../usage/report.js';
import { CONSOLE_CSS, CONSOLE_JS } from './assets.js';
import { frameOf, send, type ConsoleState } from './routes/context.js';
import { errorPages, type SignedInFrame } from './routes/errors.js';
import { keypairRoutes, secretOnce } from './routes/keypair.js';
import { keypairsRoutes } from './routes/keypairs.js';
import { operatorRoutes } from './routes/operator.js';
import { sessionOf, sessionRoutes } from './routes/session.js';
import { SecretViews } from './secret_view.js';
import type { ConsoleSignIn } from './sign_in.js';
import { notFoundPage } from './views/errors.js';

export interface ConsoleDeps {
  readonly authenticator: Authenticator;
  readonly signIn: ConsoleSignIn;
  readonly keypairs: KeypairService;
  readonly tenancy: TenancyService;
  readonly resourceServers: ResourceServerService;
  readonly catalog: ResourceServerCatalog;
  readonly history: AuditHistory;
  readonly usage: UsageReport;
  readonly clock: Clock;
  /** Where new secrets wait, encrypted, for their one view (see secret_view.ts). */
  readonly db: Knex;
  readonly log: Logger;
  readonly issuer: string;
  readonly trustProxyHops: number;
}

/**
 * Scripts and styles from /console/assets only, nothing inline, no frames, forms
 * posting back here alone: a page that somehow carried injected markup could still
 * run nothing.
 */
const CONTENT_SECURITY_POLICY = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/**
 * The admin console, served at /console: server-rendered pages and plain forms (each
 * works without script), sessions from one-time sign-in links, a CSRF token in every
 * form. Who may see and do what is decided by access/reach.ts and access/policy.ts, as
 * for the admin API, and every change goes through the same services (and so the same
 * audit trail and notifications). Request handling is in routes/, one file per area;
 * markup in views/.
 */
export function consoleMiddleware(deps: ConsoleDeps): Middleware {
  const router = new Router({ prefix: '/console' });
  const reach = new Reach(deps);
  const secretViews = new SecretViews({ db: deps.db, clock: deps.clock });
  const showSecretOnce = secretOnce(secretViews);

  router.get('/assets/console.css', (ctx) => {
    ctx.type = 'text/css; charset=utf-8';
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.body = CONSOLE_CSS;
  });
  router.get('/assets/console.js', (ctx) => {
    ctx.type = 'text/javascript; charset=utf-8';
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.body = CONSOLE_JS;
  });

  // Sign-in, then the session guard: every route registered after it needs a session.
  sessionRoutes(router, deps);
  keypairsRoutes(router, deps, reach, showSecretOnce);
  keypairRoutes(router, deps, reach, secretViews, showSecretOnce);
  operatorRoutes(router, deps, reach);

  /**
   * The header and navigation for an error page: from the session guard's state, or (on a
   * path no route took, where the guard did not run) from the cookie. A failure to read
   * them leaves the page without, rather than failing the error page itself.
   */
  const signedInFrame: SignedInFrame = async (ctx) => {
    try {
      if (!(ctx.state as Partial<ConsoleState>).principal) {
        const signedIn = await sessionOf(deps, ctx);
        if (!signedIn) return undefined;
        Object.assign(ctx.state, signedIn);
      }
      return await frameOf(ctx, reach);
    } catch {
      return undefined;
    }
  };

  const pages = compose([errorPages({ log: deps.log, signedInFrame }), router.routes(), router.allowedMethods()] as Middleware[]);
  return (ctx: Context, next: Next) => {
    if (ctx.path !== '/console' && !ctx.path.startsWith('/console/')) return next();
    ctx.set('Content-Security-Policy', CONTENT_SECURITY_POLICY);
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('X-Frame-Options', 'DENY');
    // The sign-in link's token must not leave in a Referer header.
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.set('Cache-Control', 'no-store');
    if (ctx.path === '/console') ctx.path = '/console/';
    // No id or filter holds a NUL (PostgreSQL text cannot): such a URL names nothing.
    if (/%00/.test(ctx.url)) {
      send(ctx, 404, notFoundPage('There is nothing here.'));
      return Promise.resolve();
    }
    return pages(ctx, async () => {
      send(ctx, 404, notFoundPage('There is nothing here.', await signedInFrame(ctx)));
    });
  };
}
