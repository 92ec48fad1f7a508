/** Why the verifier refuses a token, and how jose's failures map onto those reasons. */
import { errors as joseErrors } from 'jose';

export type VerifierErrorCode =
  | 'token_missing'
  | 'token_malformed'
  | 'token_expired'
  | 'signature_invalid'
  | 'claim_invalid'
  | 'insufficient_scope'
  | 'jwks_unavailable'
  | 'token_revoked'
  | 'status_unavailable';

/** Why a token was refused. `status` and `wwwAuthenticate` are the RFC 6750 answer. */
export class VerifierError extends Error {
  override readonly name = 'VerifierError';

  constructor(
    readonly code: VerifierErrorCode,
    message: string,
    /** For insufficient_scope: every scope the request needs. */
    readonly requiredScopes: readonly string[] = [],
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** 401 for a missing, bad or revoked token, 403 for too few scopes, 503 when keys or status lists cannot be fetched. */
  get status(): 401 | 403 | 503 {
    if (this.code === 'insufficient_scope') return 403;
    if (this.code === 'jwks_unavailable' || this.code === 'status_unavailable') return 503;
    return 401;
  }

  /** The `WWW-Authenticate` value (RFC 6750 §3); none for jwks_unavailable. */
  get wwwAuthenticate(): string | undefined {
    const quote = (value: string) => value.replace(/["\\]/g, '');
    switch (this.code) {
      case 'token_missing':
        return 'Bearer';
      case 'insufficient_scope':
        return `Bearer error="insufficient_scope", error_description="${quote(this.message)}", scope="${quote(this.requiredScopes.join(' '))}"`;
      case 'jwks_unavailable':
      case 'status_unavailable':
        return undefined;
      default:
        return `Bearer error="invalid_token", error_description="${quote(this.message)}"`;
    }
  }
}

/** Maps jose's failures onto the verifier's codes. */
export function classify(error: unknown): VerifierError {
  if (error instanceof VerifierError) return error;
  if (error instanceof joseErrors.JWTExpired) return new VerifierError('token_expired', 'the token has expired', [], { cause: error });
  if (error instanceof joseErrors.JWTClaimValidationFailed) return new VerifierError('claim_invalid', `the ${error.claim} claim is not accepted`, [], { cause: error });
  if (error instanceof joseErrors.JWSSignatureVerificationFailed || error instanceof joseErrors.JWKSNoMatchingKey || error instanceof joseErrors.JOSEAlgNotAllowed) {
    return new VerifierError('signature_invalid', 'the token signature is not valid', [], { cause: error });
  }
  const jwksFetchFailed = error instanceof joseErrors.JOSEError && error.code === 'ERR_JOSE_GENERIC'; // e.g. a non-200 JWKS response
  if (error instanceof joseErrors.JWKSTimeout || error instanceof joseErrors.JWKSInvalid || jwksFetchFailed || (error instanceof Error && !(error instanceof joseErrors.JOSEError))) {
    return new VerifierError('jwks_unavailable', 'the signing keys could not be fetched', [], { cause: error });
  }
  return new VerifierError('token_malformed', 'the token is not a well-formed JWT', [], { cause: error });
}
