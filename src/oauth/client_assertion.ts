import { createLocalJWKSet, errors, jwtVerify, type CryptoKey, type JWK, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { ASSERTION_SIGNING_ALGS } from './algorithms.js';
import type { Federation, KeypairCredentials } from '../keypairs/credentials_store.js';
import type { Clock } from '../shared/clock.js';
import { InvalidClient, IssuerUnreachable, type TokenRefusal } from './errors.js';
import { IssuerKeys } from './issuer_keys.js';
import type { ReplayStore } from './replay_store.js';

/** RFC 7523's client_assertion_type. */
export const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';


/** A client assertion may be valid for at most 5 minutes from now (its `exp`): a captured one is worth little. */
const MAX_ASSERTION_LIFETIME_SECONDS = 300;

/** Clocks of clients and platforms drift: 5 s either way. */
const CLOCK_TOLERANCE_SECONDS = 5;

/**
 * Checks the `client_assertion` of a keypair with no shared secret:
 *
 * - a public_key keypair (private_key_jwt, RFC 7523 §3): signed with one of its
 *   public keys, `iss` = `sub` = its client_id, `aud` Keygate's issuer or token
 *   endpoint, `exp` at most 5 minutes ahead, and a `jti` accepted once in every
 *   process until `exp` (the replay store);
 * - a federated keypair: a token of its trusted issuer (a Kubernetes service-account
 *   token, a GitHub Actions OIDC token), signed with that issuer's keys, with its `iss`,
 *   the expected `aud`, within `exp`/`nbf`, and the keypair's `sub` and claims. Such
 *   tokens are reused by their platform for their whole lifetime (a pod re-reads one
 *   projected token for an hour), so their `jti` is not spent.
 *
 * Each failure is an InvalidClient with the reason the usage log keeps.
 */
export class ClientAssertions {
  /** Key sets built once per loaded keypair (its credentials object is replaced when it changes). */
  readonly #publicKeySets = new WeakMap<readonly JWK[], JWTVerifyGetKey>();
  readonly #issuerKeys: IssuerKeys;
  readonly #audiences: string[];

  constructor(
    private readonly deps: { issuer: string; replays: ReplayStore; clock: Clock; fetchTimeoutMs?: number },
  ) {
    this.#issuerKeys = new IssuerKeys({ timeoutMs: deps.fetchTimeoutMs ?? 5000 });
    this.#audiences = [deps.issuer, `${deps.issuer.replace(/\/$/, '')}/token`];
  }

  async verify(credentials: KeypairCredentials, assertion: string): Promise<void> {
    if (credentials.credentialType === 'public_key') await this.#verifySignedByClient(credentials, assertion);
    else if (credentials.credentialType === 'federated' && credentials.federation) await this.#verifyFederated(credentials.federation, assertion);
    else throw new InvalidClient('assertion_not_accepted');
  }

  async #verifySignedByClient(credentials: KeypairCredentials, assertion: string): Promise<void> {
    const { clientId } = credentials;
    const now = this.deps.clock.now();
    const payload = await verified(assertion, this.#publicKeySetOf(credentials.publicKeys), {
      algorithms: ASSERTION_SIGNING_ALGS,
      issuer: clientId,
      subject: clientId,
      audience: this.#audiences,
      requiredClaims: ['exp', 'jti'],
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      currentDate: now,
    });
    const exp = payload.exp!;
    if (exp - now.getTime() / 1000 > MAX_ASSERTION_LIFETIME_SECONDS + CLOCK_TOLERANCE_SECONDS) throw new InvalidClient('assertion_invalid');
    if (typeof payload.jti !== 'string' || payload.jti === '') throw new InvalidClient('assertion_invalid');
    if (!(await this.deps.replays.firstUse(clientId, payload.jti, new Date((exp + CLOCK_TOLERANCE_SECONDS) * 1000)))) {
      throw new InvalidClient('assertion_replayed');
    }
  }

  async #verifyFederated(federation: Federation, token: string): Promise<void> {
    const payload = await verified(token, this.#issuerKeys.of(federation), {
      algorithms: ASSERTION_SIGNING_ALGS,
      issuer: federation.issuer,
      audience: federation.audience ?? this.deps.issuer,
      requiredClaims: ['exp'],
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      currentDate: this.deps.clock.now(),
    });
    if (payload.sub !== federation.subject) throw new InvalidClient('federation_subject_mismatch');
    for (const [name, value] of Object.entries(federation.claims)) {
      if (payload[name] !== value) throw new InvalidClient('federation_claim_mismatch');
    }
  }

  #publicKeySetOf(keys: readonly JWK[]): JWTVerifyGetKey {
    let keySet = this.#publicKeySets.get(keys);
    if (!keySet) this.#publicKeySets.set(keys, (keySet = createLocalJWKSet({ keys: [...keys] })));
    return keySet;
  }
}

/** The JWT's payload once jose has checked it, or the refusal its failure stands for. */
async function verified(jwt: string, keys: JWTVerifyGetKey, options: Parameters<typeof jwtVerify>[2]): Promise<JWTPayload> {
  try {
    return (await jwtVerify(jwt, keys, options)).payload;
  } catch (error) {
    // No kid, and several keys of its type (a rotation in progress): jose hands them over to try in turn.
    if (error instanceof errors.JWKSMultipleMatchingKeys) return verifiedByAnyOf(jwt, error as unknown as AsyncIterable<CryptoKey>, options);
    throw refusalFor(error);
  }
}

async function verifiedByAnyOf(jwt: string, keys: AsyncIterable<CryptoKey>, options: Parameters<typeof jwtVerify>[2]): Promise<JWTPayload> {
  for await (const key of keys) {
    try {
      return (await jwtVerify(jwt, key, options)).payload;
    } catch (error) {
      // Another key's signature: try the next one. Anything else (exp, aud) is the same for every key.
      if (!(error instanceof errors.JWSSignatureVerificationFailed)) throw refusalFor(error);
    }
  }
  throw new InvalidClient('assertion_invalid');
}

/** The refusal a failed check stands for, with the reason the usage log keeps. */
function refusalFor(error: unknown): TokenRefusal {
  if (error instanceof errors.JWTExpired) return new InvalidClient('assertion_expired');
  if (error instanceof errors.JWKSNoMatchingKey) return new InvalidClient('assertion_key_unknown');
  // The two an admin setting up a client most needs told apart from a bad signature.
  if (error instanceof errors.JWTClaimValidationFailed && error.claim === 'aud') return new InvalidClient('assertion_audience_mismatch');
  if (error instanceof errors.JWTClaimValidationFailed && error.claim === 'iss') return new InvalidClient('assertion_issuer_mismatch');
  // A time-out, a failed fetch or a bad answer (not 200, not JSON, not a key set: jose's
  // generic error is thrown by its remote key set alone) from a trusted issuer: not the
  // client's fault, and worth retrying.
  const issuerFailed = error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid || (error instanceof errors.JOSEError && error.code === 'ERR_JOSE_GENERIC');
  if (error instanceof errors.JOSEError && !issuerFailed) return new InvalidClient('assertion_invalid');
  return new IssuerUnreachable(error);
}
