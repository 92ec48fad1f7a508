import { createLocalJWKSet, createRemoteJWKSet, decodeJwt, errors as joseErrors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { Knex } from 'knex';
import { SIGNING_ALGS, type Config } from '../config/config.js';
import { KeygateError } from '../shared/errors.js';
import { ADMIN_TOKEN_TYP, adminAudience } from '../signing/admin_token.js';
import { publicJwks, type KeySet } from '../signing/keystore.js';
import { findLinkedUserId, findPrincipalUser, grantsWithStatus, linkIdentityUnlessLinked } from '../tenancy/identity_store.js';
import { asciiLowerCase } from '../tenancy/email.js';
import type { Principal } from './principal.js';

/** Clock skew allowed on admin tokens' exp/nbf, and on the iat of Keygate's own: 5 (seconds). */
const CLOCK_TOLERANCE_SECONDS = 5;

function unauthenticated(message: string): KeygateError {
  return new KeygateError('unauthenticated', message);
}

interface Issuer {
  readonly issuer: string;
  readonly audience: string;
  readonly keys: () => JWTVerifyGetKey;
  /** Keygate itself: `typ`, `iat` and the lifetime are checked, and the email names the user. */
  readonly own: boolean;
}

/**
 * Turns `Authorization: Bearer <JWT>` into a Principal. Trusted: Keygate's own admin
 * tokens (`typ` keygate-admin+jwt, audience `<ISSUER>/admin`, signed with keys/, issued
 * no later than now and living at most ADMIN_TOKEN_MAX_LIFETIME) and the identity
 * providers of ADMIN_TRUSTED_ISSUERS. An own token's email (or, failing that, its
 * subject as a user id) names the user. A provider's token maps by its linked
 * (`iss`, `sub`); an unlinked one by its email only when `email_verified` is true,
 * and that first match links it. Either way the user must be an operator or an
 * admin somewhere.
 */
export class Authenticator {
  readonly #issuers: Map<string, Issuer>;
  #ownKeys: { keySet: KeySet; jwks: JWTVerifyGetKey } | undefined;
  readonly #maxLifetimeSeconds: number;

  constructor(
    private readonly db: Knex,
    config: Pick<Config, 'issuer' | 'adminTrustedIssuers' | 'adminTokenMaxLifetimeSeconds'>,
    private readonly keySet: () => KeySet,
  ) {
    this.#maxLifetimeSeconds = config.adminTokenMaxLifetimeSeconds;
    this.#issuers = new Map();
    for (const trusted of config.adminTrustedIssuers) {
      const jwks = createRemoteJWKSet(new URL(trusted.jwksUri));
      this.#issuers.set(trusted.issuer, { issuer: trusted.issuer, audience: trusted.audience, keys: () => jwks, own: false });
    }
    this.#issuers.set(config.issuer, { issuer: config.issuer, audience: adminAudience(config.issuer), keys: () => this.ownKeys(), own: true });
  }

  /** Public keys of the current key set; rebuilt when SIGHUP swaps the set. */
  private ownKeys(): JWTVerifyGetKey {
    const keySet = this.keySet();
    if (this.#ownKeys?.keySet !== keySet) {
      this.#ownKeys = { keySet, jwks: createLocalJWKSet(publicJwks(keySet)) };
    }
    return this.#ownKeys.jwks;
  }

  async authenticate(authorization: string | undefined): Promise<Principal> {
    const match = /^Bearer ([A-Za-z0-9_.-]+)$/.exec(authorization?.trim() ?? '');
    if (!authorization) throw unauthenticated('An admin token is required: Authorization: Bearer <token>.');
    if (!match) throw unauthenticated('The Authorization header must be "Bearer <token>".');
    const token = match[1]!;

    let claimedIssuer: string | undefined;
    try {
      claimedIssuer = decodeJwt(token).iss;
    } catch {
      throw unauthenticated('The token is not a JWT.');
    }
    const issuer = claimedIssuer === undefined ? undefined : this.#issuers.get(claimedIssuer);
    if (!issuer) throw unauthenticated('The token comes from an issuer Keygate does not trust.');

    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, issuer.keys(), {
        issuer: issuer.issuer,
        audience: issuer.audience,
        algorithms: [...SIGNING_ALGS],
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        requiredClaims: issuer.own ? ['exp', 'iat'] : ['exp'],
        ...(issuer.own && { typ: ADMIN_TOKEN_TYP }),
      }));
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) throw unauthenticated('The token has expired.');
      if (error instanceof joseErrors.JWTClaimValidationFailed && error.claim === 'typ') throw unauthenticated(`The token is not a Keygate admin token (typ must be "${ADMIN_TOKEN_TYP}").`);
      if (error instanceof joseErrors.JWTClaimValidationFailed) throw unauthenticated(`The token's ${error.claim} claim is not accepted.`);
      throw unauthenticated('The token signature is not valid.');
    }
    if (!issuer.own) return this.externalPrincipal(issuer.issuer, payload);
    this.checkLifetime(payload);
    const email = typeof payload.email === 'string' ? payload.email : undefined;
    return email !== undefined ? this.principalOf({ email }) : this.principalOf({ userId: typeof payload.sub === 'string' ? payload.sub : '' });
  }

  /** Keygate's own tokens: issued no later than now (within the tolerance), living at most ADMIN_TOKEN_MAX_LIFETIME. */
  private checkLifetime(payload: JWTPayload): void {
    const now = Math.floor(Date.now() / 1000);
    const issuedAt = payload.iat!;
    if (issuedAt > now + CLOCK_TOLERANCE_SECONDS) throw unauthenticated('The token was issued in the future (iat).');
    if (payload.exp! - issuedAt > this.#maxLifetimeSeconds) {
      throw unauthenticated(`The token lives longer than ${this.#maxLifetimeSeconds} seconds (exp - iat); mint a shorter one.`);
    }
  }

  /**
   * A token of an external provider: its (`iss`, `sub`) once linked; until then its email,
   * and only an email the provider says it verified. The first match links the subject,
   * unless the user already has another subject at this issuer (an address handed on).
   */
  private async externalPrincipal(issuer: string, payload: JWTPayload): Promise<Principal> {
    const subject = payload.sub;
    // PostgreSQL text cannot hold NUL: such a subject names no one (and is no 500).
    if (typeof subject !== 'string' || subject === '' || subject.includes('\u0000')) throw unauthenticated('The token has no subject (sub).');
    const linked = await findLinkedUserId(this.db, issuer, subject);
    if (linked) return this.principalOf({ userId: linked });

    if (typeof payload.email !== 'string' || payload.email_verified !== true) {
      throw unauthenticated('The token names no linked identity and no verified email (email_verified must be true).');
    }
    const principal = await this.principalOf({ email: payload.email });
    // DO NOTHING on either key: a concurrent first sign-in of the same subject, or another subject of this user.
    await linkIdentityUnlessLinked(this.db, { issuer, subject, userId: principal.userId, email: payload.email }, new Date());
    if ((await findLinkedUserId(this.db, issuer, subject)) !== principal.userId) throw unauthenticated('This identity is not linked to the Keygate user its email names.');
    return principal;
  }

  /**
   * The principal of a user, by email or id, with every grant it holds now (the
   * console's sessions use this too). Emails match with A-Z folded, exactly otherwise.
   * Unauthenticated when the user is unknown or an admin nowhere.
   */
  async principalOf(who: { email: string } | { userId: string }): Promise<Principal> {
    if (('email' in who ? who.email : who.userId).includes('\u0000')) throw unauthenticated('The token names no Keygate user.');
    const user = await findPrincipalUser(this.db, 'email' in who ? { folded: asciiLowerCase(who.email) } : { userId: who.userId });
    if (!user) throw unauthenticated('The token names no Keygate user.');

    const grants = await grantsWithStatus(this.db, user.id);
    const accountAdminOf = new Set<string>();
    const environmentAdminOf = new Map<string, string>();
    for (const grant of grants) {
      if (grant.account_id && grant.account_status === 'active') accountAdminOf.add(grant.account_id);
      if (grant.environment_id && grant.environment_status === 'active' && grant.environment_account_status === 'active') {
        environmentAdminOf.set(grant.environment_id, grant.environment_account_id!);
      }
    }
    if (!user.is_operator && accountAdminOf.size === 0 && environmentAdminOf.size === 0) {
      throw unauthenticated('The user is not an admin anywhere.');
    }
    return { userId: user.id, email: user.email, name: user.name, isOperator: user.is_operator, accountAdminOf, environmentAdminOf };
  }
}
