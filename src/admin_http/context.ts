import type { Context } from 'koa';
import type { Principal } from '../access/principal.js';
import type { Actor } from '../audit/store.js';
import { validationFailed } from '../shared/errors.js';
import { parseObject, type Parser } from './schema.js';

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

/** Parses the query string against `shape`; a repeated parameter is an error. */
export function parseQuery<S extends Record<string, Parser<unknown>>>(ctx: Context, shape: S) {
  const values: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(ctx.query)) values[key] = Array.isArray(value) ? value : value;
  return parseObject(values, shape);
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

/** `limit` of a list: 1 to 100, default 50. */
export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 100;
