import type { Context } from 'koa';
import { DATABASE_RETRY_AFTER_SECONDS, isDatabaseUnavailable } from '../db/database.js';
import type { ErrorCode } from '../shared/errors.js';
import { KeygateError } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';

/** The one place a domain error code becomes an HTTP status. */
export function statusFor(code: ErrorCode): number {
  switch (code) {
    case 'validation_failed':
      return 400;
    case 'unauthenticated':
      return 401;
    case 'forbidden':
      return 403;
    case 'not_found':
      return 404;
    case 'conflict':
    case 'limit_reached':
      return 409;
    case 'precondition_failed':
      return 412;
    case 'payload_too_large':
      return 413;
    case 'unsupported_media_type':
      return 415;
  }
}

const TITLES: Record<ErrorCode, string> = {
  validation_failed: 'Invalid request',
  unauthenticated: 'Authentication required',
  forbidden: 'Forbidden',
  not_found: 'Not found',
  conflict: 'Conflict',
  limit_reached: 'Limit reached',
  precondition_failed: 'Precondition failed',
  payload_too_large: 'Payload too large',
  unsupported_media_type: 'Unsupported media type',
};

export function renderProblem(ctx: Context, status: number, code: string, title: string, detail: string, errors?: readonly { field: string; message: string }[]): void {
  ctx.status = status;
  ctx.type = 'application/problem+json';
  ctx.body = { type: `urn:keygate:problem:${code}`, title, status, detail, code, ...(errors && { errors }) };
}

/**
 * Renders every admin API failure as RFC 9457 problem+json. An unreachable or hung
 * database is a 503 with Retry-After (its detail does not claim the change was not
 * applied: a COMMIT that timed out may still land). Unknown errors become a 500 that
 * says nothing of the cause (the log has it, minus any request data).
 */
export function problemMiddleware(log: Logger) {
  return async (ctx: Context, next: () => Promise<unknown>) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) {
        renderProblem(ctx, 404, 'not_found', TITLES.not_found, `No route for ${ctx.method} ${ctx.path}.`);
      } else if (ctx.status === 405 && ctx.body === undefined) {
        renderProblem(ctx, 405, 'method_not_allowed', 'Method not allowed', `${ctx.method} is not allowed on ${ctx.path}.`);
      }
    } catch (error) {
      if (error instanceof KeygateError) {
        renderProblem(ctx, statusFor(error.code), error.code, TITLES[error.code], error.message, error.details.errors);
        if (error.code === 'unauthenticated') {
          const description = error.message.replace(/["\\]/g, '');
          ctx.set('WWW-Authenticate', ctx.get('Authorization') ? `Bearer error="invalid_token", error_description="${description}"` : 'Bearer');
        }
        return;
      }
      if (isDatabaseUnavailable(error)) {
        log.warn('admin API: database unavailable', { requestId: ctx.state.requestId, method: ctx.method, path: ctx.path, error: (error as Error).message });
        renderProblem(ctx, 503, 'database_unavailable', 'Service unavailable', `The database did not answer in time; try again in ${DATABASE_RETRY_AFTER_SECONDS} seconds.`);
        ctx.set('Retry-After', String(DATABASE_RETRY_AFTER_SECONDS));
        return;
      }
      log.error('admin API error', { requestId: ctx.state.requestId, method: ctx.method, path: ctx.path, error: (error as Error).message, stack: (error as Error).stack });
      renderProblem(ctx, 500, 'internal_error', 'Internal error', 'Something went wrong on our side; the change was not applied.');
    }
  };
}
