import { importJWK, SignJWT, type JWTPayload } from 'jose';
import type { Config } from '../config/config.js';
import { signingKey, type KeySet } from './keystore.js';

/**
 * A JWT of Keygate's own (admin tokens, console sign-in links), signed with the key
 * that signs now: issuer ISSUER, the given audience, `iat`/`exp` from `now`, a `jti`.
 */
export async function signOwnJwt(
  config: Pick<Config, 'issuer' | 'tokenSigningAlg'>,
  keySet: KeySet,
  spec: { readonly typ: string; readonly audience: string; readonly claims: JWTPayload; readonly subject?: string; readonly ttlSeconds: number; readonly jti: string; readonly now: number },
): Promise<string> {
  const key = signingKey(keySet, config.tokenSigningAlg, spec.now);
  const { created_at: _createdAt, signs_from: _signsFrom, ...jwk } = key;
  const jwt = new SignJWT(spec.claims)
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: spec.typ })
    .setIssuer(config.issuer)
    .setAudience(spec.audience)
    .setIssuedAt(spec.now)
    .setExpirationTime(spec.now + spec.ttlSeconds)
    .setJti(spec.jti);
  if (spec.subject !== undefined) jwt.setSubject(spec.subject);
  return jwt.sign(await importJWK(jwk, key.alg));
}
