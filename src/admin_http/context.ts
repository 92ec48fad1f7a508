import type { Context } from 'koa';
import type { Principal } from '../access/principal.js';
import type { Actor } from '../audit/store.js';
import { validationFailed } from '../shared/errors.js';


/** What the authentication middleware leaves on ctx.state for the routes. */
export interface AdminState {
  principal: Principal;
  actor: Actor;
}

export function principalOf(ctx: Context): Principal {
  return (ctx.state as AdminState).principal;
}

/** The caller as the audit trail records it (access/principal.ts actorOf, set by the router). */
export function actorFor(ctx: Context): Actor {
  return (ctx.state as AdminState).actor;
}

/** If-Match carries the version an ETag gave: `"7"` (or W/"7"). */
export function expectedVersion(ctx: Context): number | undefined {
  const header = ctx.get('If-Match');
  if (!header) return undefined;
  const match = /^(?:W\/)?"(\d+)"$/.exec(header.trim());
  if (!match) throw validationFailed([{ field: 'If-Match', message: 'must be an ETag this API returned, like "3"' }]);
  return Number(match[1]);
}

export function setVersionTag(ctx: Context, version: number): void {
  ctx.set('ETag', `"${version}"`);
}
