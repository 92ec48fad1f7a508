/**
 * DPoP proofs at the resource server (RFC 9449 §4.3 and §7): a DPoP-bound token (`cnf.jkt`)
 * is only accepted with a fresh proof, signed by the bound key, for this request and token.
 */
import { createHash } from 'node:crypto';
import { calculateJwkThumbprint, decodeProtectedHeader, EmbeddedJWK, errors as joseErrors, jwtVerify, type JWK, type JWTPayload } from 'jose';
import { VerifierError } from './errors.js';

/** Proof algorithms a verifier accepts unless told otherwise (asymmetric only). */
export const DEFAULT_DPOP_ALGORITHMS = ['ES256', 'ES384', 'RS256', 'PS256', 'EdDSA', 'Ed25519'] as const;

/** How far a proof's `iat` may be from now, either side: 300 (seconds). */
export const DEFAULT_DPOP_PROOF_WINDOW_SECONDS = 300;

/** Most proofs the replay cache remembers: 100,000 (about 330 proofs/s over a 300 s window). */
export const DEFAULT_DPOP_REPLAY_CACHE_SIZE = 100_000;

/** The request a proof must be made for, and the proof itself (the `DPoP` header; undefined when absent). */
export interface DPoPPresentation {
  readonly proof: string | undefined;
  /** The request's HTTP method, e.g. 'GET'. */
  readonly method: string;
  /** The full URL the client used (as the client sees it: behind a proxy, the external one). Query and fragment are ignored. */
  readonly url: string | URL;
}

export interface DPoPCheckOptions {
  readonly algorithms: readonly string[];
  /** Seconds. */
  readonly proofWindowSeconds: number;
  readonly replayCacheSize: number;
  readonly currentDate: () => Date;
}

/** Refuses a proof that does not bind `token` (whose key thumbprint is `jkt`) to this request. */
export type DPoPCheck = (token: string, jkt: string, presentation: DPoPPresentation) => Promise<void>;

/** Members of private or symmetric JWKs: a proof's key must be public (RFC 9449 §4.3 point 7). */
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

function invalid(reason: string, cause?: unknown): VerifierError {
  return new VerifierError('dpop_invalid', `the DPoP proof ${reason}`, [], { cause });
}

/** The URL without query and fragment, normalised by WHATWG URL parsing (case, default port, dot segments). */
function withoutQuery(url: string | URL): string | undefined {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return undefined;
  }
}

/**
 * Proof `jti`s seen within the window, in this process only. Entries live until their proof's
 * `iat` leaves the window (after that the iat check refuses the proof anyway); expired ones are
 * swept from the oldest on each use, and past `size` the oldest is forgotten first.
 */
function createReplayCache(size: number, currentDate: () => Date) {
  /** Key -> until when (ms since the epoch) it is remembered; insertion order is arrival order. */
  const seen = new Map<string, number>();
  return {
    /** True the first time `key` is seen within its lifetime, false for a replay. */
    firstUse(key: string, until: number): boolean {
      const now = currentDate().getTime();
      for (const [oldest, expiry] of seen) {
        if (expiry > now) break;
        seen.delete(oldest);
      }
      const known = seen.get(key);
      if (known !== undefined && known > now) return false;
      seen.delete(key);
      seen.set(key, until);
      while (seen.size > size) seen.delete(seen.keys().next().value!);
      return true;
    },
  };
}

/** One verifier's proof check, with its own replay cache. */
export function createDPoPCheck(options: DPoPCheckOptions): DPoPCheck {
  const { algorithms, proofWindowSeconds, currentDate } = options;
  const replays = createReplayCache(options.replayCacheSize, currentDate);

  return async (token, jkt, { proof, method, url }) => {
    if (!proof) throw new VerifierError('dpop_required', 'the token is DPoP-bound: present it with Authorization: DPoP and a DPoP proof');
    let header: ReturnType<typeof decodeProtectedHeader>;
    try {
      header = decodeProtectedHeader(proof);
    } catch (error) {
      throw invalid('is not a well-formed JWT', error);
    }
    if (header.typ !== 'dpop+jwt') throw invalid('typ is not dpop+jwt');
    if (typeof header.alg !== 'string' || !algorithms.includes(header.alg)) throw invalid(`alg is not one of ${algorithms.join(' ')}`);
    const jwk = header.jwk as JWK | undefined;
    if (typeof jwk !== 'object' || jwk === null) throw invalid('has no jwk header');
    if (PRIVATE_JWK_MEMBERS.some((member) => member in jwk)) throw invalid('jwk is not a public key');

    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(proof, EmbeddedJWK, { typ: 'dpop+jwt', algorithms: [...algorithms], currentDate: currentDate() }));
    } catch (error) {
      if (error instanceof joseErrors.JWSSignatureVerificationFailed) throw invalid('signature is not valid', error);
      throw invalid('is not a valid JWT', error);
    }
    if (payload.htm !== method) throw invalid('htm does not match the request method');
    const expectedUrl = withoutQuery(url);
    if (typeof payload.htu !== 'string' || expectedUrl === undefined || withoutQuery(payload.htu) !== expectedUrl) throw invalid('htu does not match the request URL');
    const now = currentDate().getTime() / 1000;
    if (typeof payload.iat !== 'number' || Math.abs(now - payload.iat) > proofWindowSeconds) throw invalid(`iat is not within ${proofWindowSeconds} s of now`);
    if (payload.ath !== createHash('sha256').update(token).digest('base64url')) throw invalid('ath does not match the access token');
    if (typeof payload.jti !== 'string' || payload.jti === '') throw invalid('has no jti');
    const thumbprint = await calculateJwkThumbprint(jwk, 'sha256').catch((error: unknown) => {
      throw invalid('jwk has no thumbprint', error);
    });
    if (thumbprint !== jkt) throw invalid('key is not the one the token is bound to (cnf.jkt)');
    // Last, so that only a proof that passed every other check spends its jti.
    if (!replays.firstUse(`${thumbprint}:${payload.jti}`, (payload.iat + proofWindowSeconds) * 1000)) throw invalid('has been used before (jti replayed)');
  };
}
