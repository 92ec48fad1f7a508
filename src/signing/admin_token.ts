import type { Config } from '../config/config.js';
import type { KeySet } from './keystore.js';
import { signOwnJwt } from './own_jwt.js';

/** Audience of Keygate's own admin tokens: `<ISSUER>/admin`. */
export function adminAudience(issuer: string): string {
  return `${issuer}/admin`;
}

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
    typ: 'JWT',
    audience: adminAudience(config.issuer),
    claims: { email: email.toLowerCase() },
    subject: email.toLowerCase(),
    ttlSeconds,
    jti: crypto.randomUUID(),
    now,
  });
}
