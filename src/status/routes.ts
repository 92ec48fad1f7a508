import type { Context, Next } from 'koa';
import type { Logger } from '../shared/log.js';
import type { StatusLists } from './status_list.js';

/**
 * GET /statuslists/:id: the Status List Token (draft-ietf-oauth-status-list), which
 * resource servers cache for STATUS_LIST_TTL.
 */
export function statusListRoutes(deps: { readonly statusLists: StatusLists; readonly ttlSeconds: number; readonly log: Logger }) {
  return async (ctx: Context, next: Next) => {
    const match = /^\/statuslists\/(\d{1,9})$/.exec(ctx.path);
    if (!match || ctx.method !== 'GET') return next();
    // Content negotiation (draft-ietf-oauth-status-list §8): the JWT form only.
    if (!ctx.accepts('application/statuslist+jwt')) {
      ctx.status = 406;
      ctx.body = { error: 'not_acceptable', error_description: 'status lists are served as application/statuslist+jwt' };
      return;
    }
    let token: string | undefined;
    try {
      token = await deps.statusLists.token(Number(match[1]));
    } catch (error) {
      deps.log.error('status list failed', { requestId: ctx.state.requestId, error: (error as Error).message });
      ctx.status = 503;
      ctx.body = { error: 'temporarily_unavailable', error_description: 'the status list cannot be built right now' };
      return;
    }
    if (!token) {
      ctx.status = 404;
      ctx.body = { error: 'not_found', error_description: 'no such status list' };
      return;
    }
    ctx.set('Cache-Control', `public, max-age=${deps.ttlSeconds}`);
    ctx.type = 'application/statuslist+jwt';
    ctx.body = token;
  };
}
