import { asciiLowerCase } from '../tenancy/email.js';
import type { Config } from '../config/config.js';
import type { KeySet } from './keystore.js';
import { signOwnJwt } from './own_jwt.js';

/** Audience of Keygate's own admin tokens: `<ISSUER>/admin`. */
export function adminAudience(issuer: string): string {
  return `${issuer}/admin`;
}

/**
 * The JOSE `typ` of Keygate's admin tokens. The admin API wants exactly this, so no
 * other JWT Keygate signs (a console sign-in link, an access token) passes as one.
 */
export const ADMIN_TOKEN_TYP = 'keygate-admin+jwt';

/** Default lifetime of an admin token minted by the CLI: 900 (seconds). */
export const ADMIN_TOKEN_TTL_SECONDS = 900;

/**
 * A short-lived admin JWT for `email`, signed with the current signing key. Needs no
 * database: the admin API maps the email to a user and refuses unknown ones.
 */
export function mintAdminToken(
  config: Pick<Config, 'issuer' | 'tokenSigningAlg'>,
  keySet: KeySet,
  email: string,
  ttlSeconds = ADMIN_TOKEN_TTL_SECONDS,
  now = Math.floor(Date.now() / 1000),
): Promise<string> {
  return signOwnJwt(config, keySet, {
    typ: ADMIN_TOKEN_TYP,
    audience: adminAudience(config.issuer),
    claims: { email: asciiLowerCase(email) },
    subject: asciiLowerCase(email),
    ttlSeconds,
    jti: crypto.randomUUID(),
    now,
  });
}
