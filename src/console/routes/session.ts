import type Router from '@koa/router';
import type { Context } from 'koa';
import type { Authenticator } from '../../access/authenticate.js';
import { actorOf, type Principal } from '../../access/principal.js';
import { KeygateError } from '../../shared/errors.js';
import { csrfMatches, signInOriginAllowed, type ConsoleSession, type ConsoleSignIn } from '../sign_in.js';
import { crossSiteSignInPage, formExpiredPage, linkNotAcceptedPage, signedOutPage, signInPage } from '../views/session.js';
import { COOKIE, seeOther, send, type ConsoleState } from './context.js';
import { readForm } from './forms.js';

export interface SessionDeps {
  readonly authenticator: Authenticator;
  readonly signIn: ConsoleSignIn;
  readonly issuer: string;
  readonly trustProxyHops: number;
}

/**
 * Sign-in, the session guard every later route is behind (a session, and on a POST a
 * matching CSRF token), and sign-out.
 */
export function sessionRoutes(router: Router, deps: SessionDeps): void {
  // Sign-in: the link's GET only shows a button, so a link preview or a scanner that
  // fetches the URL does not use up the one-time link; the POST exchanges it.
  router.get('/sign-in', (ctx) => {
    const token = typeof ctx.query.token === 'string' ? ctx.query.token : '';
    send(ctx, 200, signInPage(token));
  });

  router.post('/sign-in', async (ctx) => {
    if (!signInOriginAllowed(deps.issuer, { secFetchSite: ctx.get('Sec-Fetch-Site') || undefined, origin: ctx.get('Origin') || undefined })) {
      send(ctx, 403, crossSiteSignInPage());
      return;
    }
    const form = await readForm(ctx);
    const email = await deps.signIn.redeemLink(form.get('token') ?? '');
    const principal = email === undefined ? undefined : await adminOrNone(deps.authenticator, { email });
    if (!principal) {
      send(ctx, 401, linkNotAcceptedPage());
      return;
    }
    const { cookie, session } = await deps.signIn.startSession(principal.userId);
    setSessionCookie(ctx, deps.issuer, cookie, session.expiresAt);
    ctx.redirect('/console');
    ctx.status = 303;
  });

  // Everything below needs a session.
  router.use(async (ctx, next) => {
    if (ctx.path.startsWith('/console/assets/') || ctx.path === '/console/sign-in') return next();
    const session = await deps.signIn.findSession(ctx.cookies.get(COOKIE));
    const principal = session && (await adminOrNone(deps.authenticator, { userId: session.userId }));
    if (!session || !principal) {
      if (ctx.method === 'GET') {
        ctx.redirect('/console/sign-in');
        return;
      }
      send(ctx, 401, signedOutPage());
      return;
    }
    Object.assign(ctx.state, { principal, session, actor: actorOf(principal, ctx, deps.trustProxyHops) } satisfies ConsoleState);
    if (ctx.method === 'POST') {
      const form = await readForm(ctx);
      if (!csrfMatches(session, form.get('_csrf') ?? undefined)) {
        send(ctx, 403, formExpiredPage());
        return;
      }
      (ctx.state as ConsoleState).form = form;
    }
    return next();
  });

  router.post('/sign-out', async (ctx) => {
    await deps.signIn.endSession(ctx.cookies.get(COOKIE));
    setSessionCookie(ctx, deps.issuer, '', new Date(0));
    seeOther(ctx, '/console/sign-in');
  });
}

/**
 * The signed-in admin of a request no route took (so the session guard did not run):
 * its session and principal, or undefined. Only for pages that read, such as not found.
 */
export async function sessionOf(deps: Pick<SessionDeps, 'authenticator' | 'signIn'>, ctx: Context): Promise<{ principal: Principal; session: ConsoleSession } | undefined> {
  const session = await deps.signIn.findSession(ctx.cookies.get(COOKIE));
  const principal = session && (await adminOrNone(deps.authenticator, { userId: session.userId }));
  return session && principal ? { principal, session } : undefined;
}

/**
 * The admin a sign-in link or session names; none when the user is unknown or an admin
 * nowhere (any more). A database that does not answer is not "none": it propagates, and
 * the admin sees the 503 page rather than being signed out.
 */
async function adminOrNone(authenticator: Authenticator, who: { email: string } | { userId: string }): Promise<Principal | undefined> {
  try {
    return await authenticator.principalOf(who);
  } catch (error) {
    if (error instanceof KeygateError && error.code === 'unauthenticated') return undefined;
    throw error;
  }
}

/**
 * The session cookie: HttpOnly, SameSite=Strict, path /console, and Secure when the
 * ISSUER is https. Behind a proxy that ends TLS the request itself looks like plain
 * http, so the cookie jar is told the connection is secure rather than asked.
 */
function setSessionCookie(ctx: Context, issuer: string, value: string, expires: Date): void {
  const secure = issuer.startsWith('https:');
  if (secure) (ctx.cookies as unknown as { secure: boolean }).secure = true;
  ctx.cookies.set(COOKIE, value, { httpOnly: true, sameSite: 'strict', secure, path: '/console', expires, overwrite: true });
}
