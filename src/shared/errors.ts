/** Every domain error code; the admin API maps each to one HTTP status in one place. */
export type ErrorCode =
  | 'validation_failed'
  | 'unauthenticated'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'limit_reached'
  | 'precondition_failed'
  | 'payload_too_large'
  | 'unsupported_media_type';

export interface FieldError {
  readonly field: string;
  readonly message: string;
}

export class KeygateError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: { readonly errors?: readonly FieldError[]; readonly cause?: unknown } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'KeygateError';
  }
}

export function validationFailed(errors: readonly FieldError[]): KeygateError {
  return new KeygateError('validation_failed', 'The request has invalid fields.', { errors });
}

export function notFound(what: string): KeygateError {
  return new KeygateError('not_found', `${what} not found.`);
}
