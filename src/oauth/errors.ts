import type { Context } from 'koa';
import { DATABASE_RETRY_AFTER_SECONDS } from '../db/database.js';

/**
 * Why Keygate refused a token request, as the usage log records it: finer than the
 * OAuth error code where Keygate knows more, the code itself otherwise.
 */
export type RefusalReason =
  | 'keypair_disabled'
  | 'keypair_expired'
  | 'secret_mismatch'
  | 'secret_retired'
  | 'secret_not_accepted'
  | 'assertion_not_accepted'
  | 'assertion_invalid'
  | 'assertion_expired'
  | 'assertion_key_unknown'
  | 'assertion_audience_mismatch'
  | 'assertion_issuer_mismatch'
  | 'assertion_replayed'
  | 'federation_subject_mismatch'
  | 'federation_claim_mismatch'
  | 'issuer_unreachable'
  | 'dpop_required'
  | 'dpop_replayed'
  | 'ip_not_allowed'
  | 'rate_limited'
  | 'invalid_target'
  | 'invalid_scope'
  | 'temporarily_unavailable';

/**
 * An error answered with an RFC 6749 §5.2 body, rendered by renderOAuthError.
 *
 * Thrown inside oidc-provider's token route (from a hook), it first meets
 * oidc-provider's error handler, which reads `expose`, `statusCode`, `message` and
 * `error_description`: exposed, it is reported as `grant.error` (not `server_error`),
 * and a 401 after Basic authentication gets oidc-provider's WWW-Authenticate header.
 * The response itself is then written by renderOAuthError (token_request.ts).
 */
export class OAuthError extends Error {
  readonly expose = true;
  /** The OAuth error code: the body's `error`. */
  readonly error: string;
  readonly error_description: string;
  readonly statusCode: number;
  /** Seconds the client should wait: the Retry-After header. */
  readonly retryAfterSeconds: number | undefined;
  /** The methods a path accepts: the Allow header of a 405. */
  readonly allow: readonly string[] | undefined;
  /** The refused scope (RFC 6749 leaves the body open; oidc-provider names it too). */
  readonly scope: string | undefined;

  constructor(
    error: string,
    description: string,
    statusCode: number,
    options: { retryAfterSeconds?: number; allow?: readonly string[]; scope?: string; cause?: unknown } = {},
  ) {
    super(error, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.error = error;
    this.error_description = description;
    this.statusCode = statusCode;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.allow = options.allow;
    this.scope = options.scope;
  }

  get status(): number {
    return this.statusCode;
  }
}

/** A token request Keygate refused, with the reason the usage log keeps. */
export class TokenRefusal extends OAuthError {
  constructor(
    readonly reason: RefusalReason,
    ...rest: ConstructorParameters<typeof OAuthError>
  ) {
    super(...rest);
  }
}

/** 401: the keypair cannot be used, or the request did not prove it holds it. Said alike for every reason. */
export class InvalidClient extends TokenRefusal {
  constructor(reason: Exclude<RefusalReason, 'rate_limited' | 'invalid_target' | 'invalid_scope' | 'temporarily_unavailable' | 'issuer_unreachable' | 'dpop_required' | 'dpop_replayed'>) {
    super(reason, 'invalid_client', 'client authentication failed', 401);
  }
}

/** 429: the keypair is over its rate limit (only its holder gets here: the secret was right). */
export class RateLimited extends TokenRefusal {
  constructor(limitPerMinute: number, retryAfterSeconds: number) {
    super('rate_limited', 'rate_limited', `this keypair may request ${limitPerMinute} tokens per minute; retry after the time in Retry-After`, 429, { retryAfterSeconds });
  }
}

/** 400: no such resource server for this keypair, or no grant at it. */
export class InvalidTarget extends TokenRefusal {
  constructor(description: string) {
    super('invalid_target', 'invalid_target', description, 400);
  }
}

/** 400: a requested scope the keypair does not hold at the resource server. */
export class InvalidScope extends TokenRefusal {
  constructor(scope: string) {
    super('invalid_scope', 'invalid_scope', 'requested scope is not allowed', 400, { scope });
  }
}

/** 400: the keypair takes tokens only with a DPoP proof, and the request had none (RFC 9449's error for a token request). */
export class DpopRequired extends TokenRefusal {
  constructor() {
    super('dpop_required', 'invalid_dpop_proof', 'this keypair requires a DPoP proof (RFC 9449): send one in the DPoP header', 400);
  }
}

/** 400: a DPoP proof sent before (each proof is accepted once, in every process). */
export class DpopReplayed extends TokenRefusal {
  constructor() {
    super('dpop_replayed', 'invalid_dpop_proof', 'this DPoP proof was used before: make a new one for each request', 400);
  }
}

/** 503: a federated keypair's trusted issuer did not give its keys in time; the client may retry. */
export class IssuerUnreachable extends TokenRefusal {
  constructor(cause: unknown) {
    super('issuer_unreachable', 'temporarily_unavailable', "the authorization server cannot reach the trusted issuer's keys; retry shortly", 503, { retryAfterSeconds: 30, cause });
  }
}

/** 503: the keypair could not be read and no cached copy stands in. */
export class DatabaseUnavailable extends TokenRefusal {
  constructor(cause: unknown) {
    super('temporarily_unavailable', 'temporarily_unavailable', 'the authorization server cannot reach its database; retry shortly', 503, { retryAfterSeconds: DATABASE_RETRY_AFTER_SECONDS, cause });
  }
}

/** 405 on a path of oidc-provider's with a method it does not serve. */
export class MethodNotAllowed extends OAuthError {
  constructor(path: string, allow: readonly string[]) {
    super('invalid_request', `${path} accepts ${allow.join(', ')}`, 405, { allow });
  }
}

/**
 * The one renderer of Keygate's OAuth errors: status, the RFC 6749 §5.2 body
 * (`error`, `error_description`, and the refused `scope` when there is one), and the
 * headers the error carries (Retry-After, Allow).
 */
export function renderOAuthError(ctx: Context, error: OAuthError): void {
  ctx.status = error.statusCode;
  ctx.body = { error: error.error, error_description: error.error_description, ...(error.scope !== undefined && { scope: error.scope }) };
  if (error.retryAfterSeconds !== undefined) ctx.set('Retry-After', String(error.retryAfterSeconds));
  if (error.allow !== undefined) ctx.set('Allow', error.allow.join(', '));
}
