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
  | 'status_unavailable'
  | 'dpop_required'
  | 'dpop_invalid';

/**
 * Why a token was refused. `status` and `wwwAuthenticate` are the RFC 6750 answer, or the
 * RFC 9449 §7.1 one (a `DPoP` challenge) when `dpopAlgorithms` is set: the request used the
 * DPoP scheme, or its token is DPoP-bound.
 */
export class VerifierError extends Error {
  override readonly name = 'VerifierError';
  /** The proof algorithms the verifier accepts, for the DPoP challenge's `algs`; undefined for a Bearer challenge. */
  readonly dpopAlgorithms: readonly string[] | undefined;

  constructor(
    readonly code: VerifierErrorCode,
    message: string,
    /** For insufficient_scope: every scope the request needs. */
    readonly requiredScopes: readonly string[] = [],
    options?: { cause?: unknown; dpopAlgorithms?: readonly string[] },
  ) {
    super(message, options);
    this.dpopAlgorithms = options?.dpopAlgorithms;
  }

  /** The same refusal answered with a DPoP challenge (RFC 9449 §7.1). */
  withDPoPChallenge(dpopAlgorithms: readonly string[]): VerifierError {
    return new VerifierError(this.code, this.message, this.requiredScopes, { cause: this.cause, dpopAlgorithms });
  }

  /** The OAuth error code of the answer: RFC 6750 §3.1, and RFC 9449 §7.1 for a bad proof. */
  get oauthError(): 'invalid_token' | 'insufficient_scope' | 'invalid_dpop_proof' | 'temporarily_unavailable' {
    if (this.code === 'insufficient_scope') return 'insufficient_scope';
    if (this.code === 'dpop_invalid') return 'invalid_dpop_proof';
    if (this.code === 'jwks_unavailable' || this.code === 'status_unavailable') return 'temporarily_unavailable';
    return 'invalid_token';
  }

  /** 401 for a missing, bad or revoked token, 403 for too few scopes, 503 when keys or status lists cannot be fetched. */
  get status(): 401 | 403 | 503 {
    if (this.code === 'insufficient_scope') return 403;
    if (this.code === 'jwks_unavailable' || this.code === 'status_unavailable') return 503;
    return 401;
  }

  /** The `WWW-Authenticate` value (RFC 6750 §3, or RFC 9449 §7.1 with `dpopAlgorithms`); none for jwks_unavailable. */
  get wwwAuthenticate(): string | undefined {
    const quote = (value: string) => value.replace(/["\\]/g, '');
    if (this.dpopAlgorithms) {
      if (this.code === 'jwks_unavailable' || this.code === 'status_unavailable') return undefined;
      const algs = `algs="${quote(this.dpopAlgorithms.join(' '))}"`;
      if (this.code === 'token_missing') return `DPoP ${algs}`;
      const scope = this.code === 'insufficient_scope' ? `, scope="${quote(this.requiredScopes.join(' '))}"` : '';
      return `DPoP error="${this.oauthError}", error_description="${quote(this.message)}"${scope}, ${algs}`;
    }
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
