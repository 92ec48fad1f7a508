/** Verification of one access token: keys, signature, claims, status and scopes. */
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { createDPoPCheck, DEFAULT_DPOP_ALGORITHMS, DEFAULT_DPOP_PROOF_WINDOW_SECONDS, DEFAULT_DPOP_REPLAY_CACHE_SIZE, type DPoPPresentation } from './dpop.js';
import { classify, VerifierError } from './errors.js';
import { createStatusCheck } from './status_list.js';

type RemoteKeys = ReturnType<typeof createRemoteJWKSet>;

/** Algorithms a verifier accepts unless told otherwise. `none` and HS* are never accepted. */
export const DEFAULT_ALGORITHMS = ['ES256', 'RS256', 'PS256', 'EdDSA'] as const;

/** Default clock tolerance for exp, nbf and iat: 5 (seconds). */
export const DEFAULT_CLOCK_TOLERANCE_SECONDS = 5;

/** The claims of a verified token, typed. */
export interface VerifiedToken {
  readonly clientId: string;
  readonly scopes: readonly string[];
  readonly accountId: string | undefined;
  /** Absent for account-level keypairs. */
  readonly environmentId: string | undefined;
  readonly expiresAt: Date;
  readonly payload: JWTPayload;
}

export interface VerifierOptions {
  /** Keygate's ISSUER, exactly as in the tokens' `iss`. */
  readonly issuer: string;
  /** This resource server's identifier (the tokens' `aud`). */
  readonly audience: string | readonly string[];
  /** Where the keys are; default: `jwks_uri` from the issuer's RFC 8414 metadata. */
  readonly jwksUri?: string;
  /** Accepted `alg` values; default ES256, RS256, PS256, EdDSA. */
  readonly algorithms?: readonly string[];
  /** Default 5 (seconds). */
  readonly clockToleranceSeconds?: number;
  /** Scopes every token must carry, on top of those a call asks for. */
  readonly requiredScopes?: readonly string[];
  /** Least time between two JWKS fetches for unknown `kid`s; default 30000 (ms). */
  readonly jwksCooldownMs?: number;
  /** The time checks run against; default the system clock (tests pass their own). */
  readonly currentDate?: () => Date;
  /**
   * When a token's status list cannot be fetched: 'reject' (fail closed, the default)
   * refuses the token with status_unavailable; 'accept' (fail open) lets it through.
   */
  readonly statusListFailure?: 'reject' | 'accept';
  /** Accepted `alg` values of DPoP proofs; default ES256, ES384, RS256, PS256, EdDSA, Ed25519. */
  readonly dpopAlgorithms?: readonly string[];
  /** How far a DPoP proof's `iat` may be from now, either side; default 300 (seconds). */
  readonly dpopProofWindowSeconds?: number;
  /**
   * Most DPoP proof `jti`s remembered against replays (in this process only); default 100000.
   * Past it the oldest is forgotten first, so size it above your proofs per second x 2 x the window.
   */
  readonly dpopReplayCacheSize?: number;
}

/** What one call checks on top of the token itself. */
export interface VerifyCallOptions {
  /** Scopes this call needs. */
  readonly scopes?: readonly string[];
  /**
   * The request came with `Authorization: DPoP <token>` (RFC 9449 §7.1): its `DPoP` header
   * (undefined when absent), method and full URL. Leave it out for `Authorization: Bearer`;
   * a DPoP-bound token (`cnf.jkt`) is then refused with dpop_required.
   */
  readonly dpop?: DPoPPresentation;
}

export interface Verifier {
  /**
   * Resolves to the token's claims, or rejects with a VerifierError.
   *
   * @example
   * const verifier = createVerifier({ issuer: 'http://localhost:3000', audience: 'http://localhost:3000/api' });
   * const { clientId, scopes } = await verifier.verify(token, { scopes: ['read'] });
   */
  verify(token: string | undefined, options?: VerifyCallOptions): Promise<VerifiedToken>;
  /** The DPoP proof algorithms it accepts (for a `DPoP algs="…"` challenge). */
  readonly dpopAlgorithms: readonly string[];
}

function refusesUnsafeAlgorithms(algorithms: readonly string[]): void {
  for (const alg of algorithms) {
    if (alg === 'none' || alg.startsWith('HS')) throw new TypeError(`algorithm ${alg} is never accepted for access tokens or DPoP proofs`);
  }
}

/**
 * Builds a verifier for one resource server. Keys are fetched once and cached; an
 * unknown `kid` triggers at most one refetch per cooldown, so a flood of forged kids
 * cannot turn into a flood of requests to Keygate.
 *
 * @example
 * import { createVerifier } from 'keygate/verifier';
 * const verifier = createVerifier({ issuer: 'https://auth.example.com', audience: 'https://api.example.com' });
 * const claims = await verifier.verify(bearerToken, { scopes: ['read'] });
 */
export function createVerifier(options: VerifierOptions): Verifier {
  const algorithms = [...(options.algorithms ?? DEFAULT_ALGORITHMS)];
  refusesUnsafeAlgorithms(algorithms);
  const dpopAlgorithms = [...(options.dpopAlgorithms ?? DEFAULT_DPOP_ALGORITHMS)];
  refusesUnsafeAlgorithms(dpopAlgorithms);
  const clockTolerance = options.clockToleranceSeconds ?? DEFAULT_CLOCK_TOLERANCE_SECONDS;
  const cooldown = options.jwksCooldownMs ?? 30_000;
  const currentDate = options.currentDate ?? (() => new Date());
  const issuer = options.issuer.replace(/\/+$/, '');
  let keys: Promise<JWTVerifyGetKey> | undefined;

  /**
   * jose refetches the JWKS on every unknown kid when its own cooldown is 0; this
   * gate lets one refetch through per cooldown, timed by `currentDate`.
   */
  const gated = (remote: RemoteKeys): JWTVerifyGetKey => {
    let lastFetch = -Infinity;
    return async (header, token) => {
      const now = currentDate().getTime();
      const known = remote.jwks()?.keys.some((key) => key.kid === header.kid) ?? false;
      if (!known && remote.jwks() !== undefined) {
        if (now - lastFetch < cooldown) throw new joseErrors.JWKSNoMatchingKey();
        lastFetch = now;
        await remote.reload();
      } else if (remote.jwks() === undefined) {
        lastFetch = now;
      }
      return remote(header, token);
    };
  };

  const discoverKeys = async (): Promise<JWTVerifyGetKey> => {
    let jwksUri = options.jwksUri;
    if (jwksUri === undefined) {
      const response = await fetch(`${issuer}/.well-known/oauth-authorization-server`, { signal: AbortSignal.timeout(5000) });
      if (!response.ok) throw new Error(`metadata answered ${response.status}`);
      const metadata = (await response.json()) as { jwks_uri?: unknown };
      if (typeof metadata.jwks_uri !== 'string') throw new Error('metadata has no jwks_uri');
      jwksUri = metadata.jwks_uri;
    }
    return gated(createRemoteJWKSet(new URL(jwksUri), { cooldownDuration: 0, timeoutDuration: 5000 }));
  };

  const checkStatus = createStatusCheck({ issuer, algorithms, clockTolerance, currentDate, statusListFailure: options.statusListFailure });
  const checkProof = createDPoPCheck({
    algorithms: dpopAlgorithms,
    proofWindowSeconds: options.dpopProofWindowSeconds ?? DEFAULT_DPOP_PROOF_WINDOW_SECONDS,
    replayCacheSize: options.dpopReplayCacheSize ?? DEFAULT_DPOP_REPLAY_CACHE_SIZE,
    currentDate,
  });

  /** RFC 9449 §7: a bound token needs the DPoP scheme and a proof; the DPoP scheme needs a bound token. */
  const checkBinding = async (token: string, payload: JWTPayload, dpop: DPoPPresentation | undefined) => {
    const { cnf } = payload;
    if (cnf === undefined) {
      if (dpop) throw new VerifierError('dpop_invalid', 'the token is not DPoP-bound (no cnf.jkt): present it with Authorization: Bearer');
      return; // A Bearer token: a stray DPoP header with it is ignored (RFC 9449 §7.2).
    }
    const jkt = (cnf as { jkt?: unknown } | null)?.jkt;
    // Any other confirmation method (mTLS x5t#S256, …) cannot be checked here: refused.
    if (typeof jkt !== 'string' || Object.keys(cnf as object).length !== 1) throw new VerifierError('claim_invalid', 'the cnf claim is not accepted');
    if (!dpop) throw new VerifierError('dpop_required', 'the token is DPoP-bound: present it with Authorization: DPoP and a DPoP proof');
    await checkProof(token, jkt, dpop);
  };

  /** The token's signature, claims, status, DPoP binding and scopes; throws what classify() maps. */
  const verifyToken = async (token: string | undefined, call: VerifyCallOptions): Promise<VerifiedToken> => {
    if (!token) throw new VerifierError('token_missing', 'no access token was presented');
    keys ??= discoverKeys();
    const getKey = await keys.catch((error: unknown) => {
      keys = undefined; // try discovery again on the next call
      throw new VerifierError('jwks_unavailable', 'the signing keys could not be fetched', [], { cause: error });
    });
    const { payload } = await jwtVerify(token, getKey, {
      issuer,
      audience: typeof options.audience === 'string' ? options.audience : [...options.audience],
      algorithms,
      typ: 'at+jwt',
      clockTolerance,
      currentDate: currentDate(),
      requiredClaims: ['exp', 'iat', 'client_id'],
    });
    const now = Math.floor(currentDate().getTime() / 1000);
    if (typeof payload.iat !== 'number' || payload.iat > now + clockTolerance) throw new VerifierError('claim_invalid', 'the iat claim is not accepted');
    if (typeof payload.client_id !== 'string') throw new VerifierError('claim_invalid', 'the client_id claim is not accepted');
    await checkStatus(payload, getKey);
    await checkBinding(token, payload, call.dpop);
    const scopes = typeof payload.scope === 'string' && payload.scope ? payload.scope.split(' ') : [];
    const required = [...new Set([...(options.requiredScopes ?? []), ...(call.scopes ?? [])])];
    const missing = required.filter((scope) => !scopes.includes(scope));
    if (missing.length > 0) throw new VerifierError('insufficient_scope', `the token lacks the scope ${missing.join(' ')}`, required);
    return {
      clientId: payload.client_id,
      scopes,
      accountId: typeof payload.account_id === 'string' ? payload.account_id : undefined,
      environmentId: typeof payload.environment_id === 'string' ? payload.environment_id : undefined,
      expiresAt: new Date(payload.exp! * 1000),
      payload,
    };
  };

  return {
    dpopAlgorithms,
    async verify(token, call = {}) {
      try {
        return await verifyToken(token, call);
      } catch (error) {
        const refused = classify(error);
        // The DPoP scheme, or a bound token, is answered with a DPoP challenge (RFC 9449 §7.1).
        throw call.dpop || refused.code === 'dpop_required' ? refused.withDPoPChallenge(dpopAlgorithms) : refused;
      }
    },
  };
}
