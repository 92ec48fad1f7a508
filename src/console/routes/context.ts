import type { Context } from 'koa';
import type { Principal } from '../../access/principal.js';
import type { Reach } from '../../access/reach.js';
import type { Actor } from '../../audit/store.js';
import type { Html } from '../html.js';
import type { ConsoleSession } from '../sign_in.js';
import type { PageFrame } from '../views/layout.js';

/** The session cookie's name. */
export const COOKIE = 'keygate_console';

/** What the session guard (routes/session.ts) leaves on ctx.state for the pages. */
export interface ConsoleState {
  principal: Principal;
  session: ConsoleSession;
  /** The admin as the audit trail records it (access/principal.ts actorOf). */
  actor: Actor;
  /** A POST's form, read and checked once by the guard. */
  form?: URLSearchParams;
}

export function principalOf(ctx: Context): Principal {
  return (ctx.state as ConsoleState).principal;
}

export function actorFor(ctx: Context): Actor {
  return (ctx.state as ConsoleState).actor;
}

export function formOf(ctx: Context): URLSearchParams {
  return (ctx.state as ConsoleState).form ?? new URLSearchParams();
}

/** What every signed-in page shows around its body: who, the CSRF token, navigation (what the admin reaches, as access/reach.ts decides). */
export async function frameOf(ctx: Context, reach: Reach): Promise<PageFrame> {
  const { principal, session } = ctx.state as ConsoleState;
  return { principal, csrfToken: session.csrfToken, nav: await reach.accountsOf(principal), current: ctx.path };
}

export function send(ctx: Context, status: number, page: Html): void {
  ctx.status = status;
  ctx.type = 'text/html; charset=utf-8';
  ctx.body = page.value;
}

/** The answer to every console POST that did what it asked: a 303 to a page a reload only reads. */
export function seeOther(ctx: Context, location: string): void {
  ctx.redirect(location);
  ctx.status = 303;
}
