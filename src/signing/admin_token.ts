import { importJWK, SignJWT } from 'jose';
import type { Config } from '../config/config.js';
import { signingKey, type KeySet } from './keystore.js';

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
export async function mintAdminToken(
  config: Pick<Config, 'issuer' | 'tokenSigningAlg'>,
  keySet: KeySet,
  email: string,
  ttlSeconds = ADMIN_TOKEN_TTL_SECONDS,
  now = Math.floor(Date.now() / 1000),
): Promise<string> {
  const key = signingKey(keySet, config.tokenSigningAlg, now);
  const { created_at: _createdAt, signs_from: _signsFrom, ...jwk } = key;
  return new SignJWT({ email: email.toLowerCase() })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' })
    .setIssuer(config.issuer)
    .setAudience(adminAudience(config.issuer))
    .setSubject(email.toLowerCase())
    .setIssuedAt(now)
    .setExpirationTime(now + ttlSeconds)
    .setJti(crypto.randomUUID())
    .sign(await importJWK(jwk, key.alg));
}
