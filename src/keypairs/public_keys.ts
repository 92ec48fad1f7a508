import { calculateJwkThumbprint, importJWK } from 'jose';
import type { FieldError } from '../shared/errors.js';
import { PRIVATE_JWK_MEMBERS } from '../shared/jwk.js';

/**
 * The public keys of a public_key keypair (private_key_jwt): which JWKs are accepted,
 * what of them is kept, and their RFC 7638 thumbprints. The shape checks run at the
 * edge (sync, with the body's other fields); loading the key and the thumbprint are
 * async and run in the service.
 */

/** How many keys a public_key keypair holds: room for the next key during a rotation, and a few more. */
export const MIN_PUBLIC_KEYS = 1;
export const MAX_PUBLIC_KEYS = 5;
/** RSA moduli shorter than this are refused (NIST SP 800-131A). */
export const MIN_RSA_MODULUS_BITS = 2048;
const KID_MAX_LENGTH = 200;

/** The public members of a JWK Keygate keeps; anything else the client sent (use, key_ops, x5c...) is dropped. */
export interface PublicJwk {
  readonly kty: 'EC' | 'RSA' | 'OKP';
  readonly crv?: string;
  readonly x?: string;
  readonly y?: string;
  readonly n?: string;
  readonly e?: string;
  readonly kid?: string;
  readonly alg?: string;
}

/** One key of a keypair as stored (keypairs.public_keys): the JWK, its thumbprint, when it was added. */
export interface StoredPublicKey {
  readonly jwk: PublicJwk;
  /** RFC 7638 SHA-256 thumbprint, base64url: the key's hint, and what tells two keys apart. */
  readonly thumbprint: string;
  readonly addedAt: string;
}

/** The algorithms each accepted key type signs with; the first is what importJWK is told when the JWK names none. */
const ALGORITHMS: Record<string, readonly string[]> = {
  'EC/P-256': ['ES256'],
  'EC/P-384': ['ES384'],
  RSA: ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'],
  'OKP/Ed25519': ['EdDSA', 'Ed25519'],
};

const BASE64URL = /^[A-Za-z0-9_-]+$/;
const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function algorithmsOf(jwk: PublicJwk): readonly string[] {
  return ALGORITHMS[jwk.kty === 'RSA' ? 'RSA' : `${jwk.kty}/${jwk.crv}`] ?? [];
}

/** Bits of a base64url big-endian integer (an RSA modulus). */
function modulusBits(n: string): number {
  const bytes = Buffer.from(n, 'base64url');
  const first = bytes.findIndex((byte) => byte !== 0);
  return first === -1 ? 0 : (bytes.length - first - 1) * 8 + (32 - Math.clz32(bytes[first]!));
}

/**
 * A JWK as sent, reduced to its public members, or why it is refused. The checks that
 * need no crypto: private members, the key type and curve, an RSA modulus' size, and
 * `kid`/`alg` when given.
 */
export function publicJwkOf(value: unknown): { ok: true; value: PublicJwk } | { ok: false; message: string } {
  if (!isRecord(value)) return { ok: false, message: 'must be a JWK object' };
  if (PRIVATE_JWK_MEMBERS.some((member) => value[member] !== undefined)) return { ok: false, message: 'is a private key: send its public part only' };
  const text = (member: string) => (typeof value[member] === 'string' && BASE64URL.test(value[member]) ? value[member] : undefined);
  let jwk: PublicJwk;
  if (value.kty === 'EC' && (value.crv === 'P-256' || value.crv === 'P-384')) {
    const [x, y] = [text('x'), text('y')];
    if (!x || !y) return { ok: false, message: `is an EC ${value.crv} key without base64url "x" and "y"` };
    jwk = { kty: 'EC', crv: value.crv, x, y };
  } else if (value.kty === 'OKP' && value.crv === 'Ed25519') {
    const x = text('x');
    if (!x) return { ok: false, message: 'is an Ed25519 key without a base64url "x"' };
    jwk = { kty: 'OKP', crv: 'Ed25519', x };
  } else if (value.kty === 'RSA') {
    const [n, e] = [text('n'), text('e')];
    if (!n || !e) return { ok: false, message: 'is an RSA key without base64url "n" and "e"' };
    if (modulusBits(n) < MIN_RSA_MODULUS_BITS) return { ok: false, message: `is an RSA key of ${modulusBits(n)} bits: at least ${MIN_RSA_MODULUS_BITS} are needed` };
    jwk = { kty: 'RSA', n, e };
  } else {
    return { ok: false, message: 'must be an EC P-256 or P-384, RSA (2048 bits or more) or OKP Ed25519 public key' };
  }
  if (value.kid !== undefined) {
    if (typeof value.kid !== 'string' || value.kid.length === 0 || value.kid.length > KID_MAX_LENGTH || !/^[\x21-\x7E]+$/.test(value.kid)) {
      return { ok: false, message: `has a "kid" that is not 1 to ${KID_MAX_LENGTH} printable ASCII characters` };
    }
    jwk = { ...jwk, kid: value.kid };
  }
  if (value.alg !== undefined) {
    const allowed = algorithmsOf(jwk);
    if (typeof value.alg !== 'string' || !allowed.includes(value.alg)) return { ok: false, message: `has an "alg" this key cannot sign with: use ${allowed.join(', ')}` };
    jwk = { ...jwk, alg: value.alg };
  }
  return { ok: true, value: jwk };
}

/**
 * The keys as stored, with their thumbprints, or the errors naming `field[i]`: a key
 * jose cannot load, or the same key twice. A key already held (same thumbprint in
 * `kept`) keeps its `addedAt`; the others are added `now`.
 */
export async function storedPublicKeys(
  field: string,
  jwks: readonly PublicJwk[],
  now: Date,
  kept: readonly StoredPublicKey[] = [],
): Promise<{ keys: StoredPublicKey[]; errors: FieldError[] }> {
  const errors: FieldError[] = [];
  if (jwks.length < MIN_PUBLIC_KEYS || jwks.length > MAX_PUBLIC_KEYS) errors.push({ field, message: `must hold ${MIN_PUBLIC_KEYS} to ${MAX_PUBLIC_KEYS} keys` });
  const keys: StoredPublicKey[] = [];
  const seen = new Set<string>();
  for (const [index, jwk] of jwks.entries()) {
    try {
      await importJWK({ ...jwk }, jwk.alg ?? algorithmsOf(jwk)[0]);
    } catch {
      errors.push({ field: `${field}[${index}]`, message: 'is not a key that can be loaded: check its members (x, y, n, e)' });
      continue;
    }
    const thumbprint = await calculateJwkThumbprint({ ...jwk }, 'sha256');
    if (seen.has(thumbprint)) {
      errors.push({ field: `${field}[${index}]`, message: 'repeats an earlier key (same thumbprint)' });
      continue;
    }
    seen.add(thumbprint);
    keys.push({ jwk, thumbprint, addedAt: kept.find((key) => key.thumbprint === thumbprint)?.addedAt ?? now.toISOString() });
  }
  return { keys, errors };
}
