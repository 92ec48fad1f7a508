import type { Context, Middleware } from 'koa';
import { statusFor } from '../../admin_http/problem.js';
import { DATABASE_RETRY_AFTER_SECONDS, isDatabaseUnavailable } from '../../db/database.js';
import { KeygateError } from '../../shared/errors.js';
import type { Logger } from '../../shared/log.js';
import { databaseUnavailablePage, internalErrorPage, refusalPage } from '../views/errors.js';
import type { PageFrame } from '../views/layout.js';
import { send } from './context.js';

/** The page frame of the request's session, if it has one; undefined otherwise (or when it cannot be read). */
export type SignedInFrame = (ctx: Context) => Promise<PageFrame | undefined>;

/**
 * Every failure as a page: each domain error with the status the admin API gives it
 * (what the admin cannot reach is "not found", as there), a database that does not
 * answer as a 503 with Retry-After, anything else a 500 that names no cause.
 */
export function errorPages(deps: { log: Logger; signedInFrame?: SignedInFrame }): Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      if (error instanceof KeygateError) {
        send(ctx, statusFor(error.code), refusalPage(error.code, error.message, error.details.errors, await deps.signedInFrame?.(ctx)));
        return;
      }
      if (isDatabaseUnavailable(error)) {
        deps.log.warn('console: database unavailable', { path: ctx.path, error: (error as Error).message });
        send(ctx, 503, databaseUnavailablePage(DATABASE_RETRY_AFTER_SECONDS));
        ctx.set('Retry-After', String(DATABASE_RETRY_AFTER_SECONDS));
        return;
      }
      deps.log.error('console error', { path: ctx.path, error: (error as Error).message });
      send(ctx, 500, internalErrorPage());
    }
  };
}
