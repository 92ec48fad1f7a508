/**
 * keygate/verifier: checks Keygate access tokens (RFC 9068 JWTs) inside a resource
 * server, with no call to Keygate per request. Imports jose only.
 */
import { inflateSync } from 'node:zlib';
import { base64url, createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';

type RemoteKeys = ReturnType<typeof createRemoteJWKSet>;

/** Algorithms a verifier accepts unless told otherwise. `none` and HS* are never accepted. */
export const DEFAULT_ALGORITHMS = ['ES256', 'RS256', 'PS256', 'EdDSA'] as const;

/** Default clock tolerance for exp, nbf and iat: 5 (seconds). */
export const DEFAULT_CLOCK_TOLERANCE_SECONDS = 5;

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
}

export interface Verifier {
  /**
   * Resolves to the token's claims, or rejects with a VerifierError.
   *
   * @example
   * const verifier = createVerifier({ issuer: 'http://localhost:3000', audience: 'http://localhost:3000/api' });
   * const { clientId, scopes } = await verifier.verify(token, { scopes: ['read'] });
   */
  verify(token: string | undefined, options?: { scopes?: readonly string[] }): Promise<VerifiedToken>;
}

function refusesUnsafeAlgorithms(algorithms: readonly string[]): void {
  for (const alg of algorithms) {
    if (alg === 'none' || alg.startsWith('HS')) throw new TypeError(`algorithm ${alg} is never accepted for access tokens`);
  }
}

/** Maps jose's failures onto the verifier's codes. */
function classify(error: unknown): VerifierError {
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

  /** Status lists by URI, kept for the `ttl` each one states. */
  const statusLists = new Map<string, { bits: number; lst: Uint8Array; until: number }>();
  const pending = new Map<string, Promise<{ bits: number; lst: Uint8Array; until: number }>>();

  const fetchStatusList = async (uri: string, getKey: JWTVerifyGetKey) => {
    const response = await fetch(uri, { headers: { accept: 'application/statuslist+jwt' }, signal: AbortSignal.timeout(5000) });
    if (!response.ok) throw new Error(`status list answered ${response.status}`);
    const { payload } = await jwtVerify(await response.text(), getKey, { issuer, typ: 'statuslist+jwt', algorithms, clockTolerance, currentDate: currentDate() });
    const list = payload.status_list as { bits?: unknown; lst?: unknown } | undefined;
    if (payload.sub !== uri || !list || ![1, 2, 4, 8].includes(list.bits as number) || typeof list.lst !== 'string') throw new Error('not a status list token for this URI');
    const ttl = typeof payload.ttl === 'number' && payload.ttl > 0 ? payload.ttl : 60;
    const until = Math.min(currentDate().getTime() + ttl * 1000, typeof payload.exp === 'number' ? payload.exp * 1000 : Infinity);
    return { bits: list.bits as number, lst: new Uint8Array(inflateSync(base64url.decode(list.lst))), until };
  };

  /** Refuses a token whose status (draft-ietf-oauth-status-list) is anything but valid. */
  const checkStatus = async (payload: JWTPayload, getKey: JWTVerifyGetKey): Promise<void> => {
    const reference = (payload.status as { status_list?: { idx?: unknown; uri?: unknown } } | undefined)?.status_list;
    if (reference === undefined) return;
    const { idx, uri } = reference;
    // Only lists of the trusted issuer are fetched: a claim cannot send the verifier elsewhere.
    if (typeof uri !== 'string' || !uri.startsWith(`${issuer}/`) || !Number.isSafeInteger(idx) || (idx as number) < 0) {
      throw new VerifierError('claim_invalid', 'the status claim is not accepted');
    }
    let list = statusLists.get(uri);
    if (!list || list.until <= currentDate().getTime()) {
      let fetching = pending.get(uri);
      if (!fetching) {
        fetching = fetchStatusList(uri, getKey).finally(() => pending.delete(uri));
        pending.set(uri, fetching);
      }
      try {
        list = await fetching;
        statusLists.set(uri, list);
      } catch (error) {
        if (options.statusListFailure === 'accept') return;
        throw new VerifierError('status_unavailable', 'the token status list could not be fetched', [], { cause: error });
      }
    }
    const position = (idx as number) * list.bits;
    const byte = list.lst[position >> 3];
    if (byte === undefined) throw new VerifierError('claim_invalid', 'the status index is outside its list');
    const status = (byte >> (position & 7)) & ((1 << list.bits) - 1);
    if (status !== 0) throw new VerifierError('token_revoked', 'the token has been revoked');
  };

  return {
    async verify(token, call = {}) {
      if (!token) throw new VerifierError('token_missing', 'no access token was presented');
      try {
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
      } catch (error) {
        throw classify(error);
      }
    },
  };
}

/** Reads `Authorization: Bearer <token>`; anything else counts as no token. */
export function bearerToken(authorization: string | undefined): string | undefined {
  const match = /^Bearer\s+([^\s]+)\s*$/i.exec(authorization ?? '');
  return match?.[1];
}

/** What to answer a refused request with: status, headers and a JSON body. */
export function refusal(error: VerifierError): { status: number; headers: Record<string, string>; body: { error: string; error_description: string } } {
  const headers: Record<string, string> = { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' };
  if (error.wwwAuthenticate) headers['WWW-Authenticate'] = error.wwwAuthenticate;
  const unavailable = error.code === 'jwks_unavailable' || error.code === 'status_unavailable';
  const oauthError = error.code === 'insufficient_scope' ? 'insufficient_scope' : unavailable ? 'temporarily_unavailable' : 'invalid_token';
  return { status: error.status, headers, body: { error: oauthError, error_description: error.message } };
}

/**
 * Framework-free check of a Node request: resolves to the claims, or writes the
 * RFC 6750 refusal to `res` and resolves to undefined.
 *
 * @example
 * http.createServer(async (req, res) => {
 *   const token = await authenticate(verifier, req, res, { scopes: ['read'] });
 *   if (!token) return;
 *   res.end(`hello ${token.clientId}`);
 * });
 */
export async function authenticate(
  verifier: Verifier,
  req: { headers: { authorization?: string | undefined } },
  res: { statusCode: number; setHeader(name: string, value: string): unknown; end(body: string): unknown },
  options: { scopes?: readonly string[] } = {},
): Promise<VerifiedToken | undefined> {
  try {
    return await verifier.verify(bearerToken(req.headers.authorization), options);
  } catch (error) {
    const answer = refusal(classify(error));
    res.statusCode = answer.status;
    for (const [name, value] of Object.entries(answer.headers)) res.setHeader(name, value);
    res.end(JSON.stringify(answer.body));
    return undefined;
  }
}

/**
 * Express-style middleware: puts the claims on `req.auth`, or answers the refusal.
 *
 * @example
 * app.get('/reports', requireToken(verifier, { scopes: ['read'] }), (req, res) => res.json(req.auth));
 */
export function requireToken(verifier: Verifier, options: { scopes?: readonly string[] } = {}) {
  return (
    req: { headers: { authorization?: string | undefined }; auth?: VerifiedToken },
    res: { statusCode: number; setHeader(name: string, value: string): unknown; end(body: string): unknown },
    next: (error?: unknown) => void,
  ): void => {
    void authenticate(verifier, req, res, options).then((token) => {
      if (token) {
        req.auth = token;
        next();
      }
    }, next);
  };
}

/**
 * Koa middleware: puts the claims on `ctx.state.token`, or answers the refusal.
 *
 * @example
 * router.get('/reports', koaRequireToken(verifier, { scopes: ['read'] }), (ctx) => { ctx.body = ctx.state.token.clientId; });
 */
export function koaRequireToken(verifier: Verifier, options: { scopes?: readonly string[] } = {}) {
  return async (
    ctx: { get(name: string): string; state: Record<string, unknown>; status: number; body: unknown; set(name: string, value: string): void },
    next: () => Promise<unknown>,
  ): Promise<void> => {
    let token: VerifiedToken;
    try {
      token = await verifier.verify(bearerToken(ctx.get('Authorization') || undefined), options);
    } catch (error) {
      const answer = refusal(classify(error));
      ctx.status = answer.status;
      for (const [name, value] of Object.entries(answer.headers)) ctx.set(name, value);
      ctx.body = answer.body;
      return;
    }
    ctx.state.token = token;
    await next();
  };
}
