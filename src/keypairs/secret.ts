import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { base62 } from '../shared/ids.js';

/**
 * Secret format, after GitHub's tokens: `kgs_` + 256 random bits in base62 (43 chars)
 * + a CRC32 checksum of everything before it in base62 (6 chars). The prefix lets
 * secret scanners find leaked Keygate secrets; the checksum lets anyone reject a
 * mistyped or foreign secret offline, before any database lookup.
 */
export const SECRET_PREFIX = 'kgs_';
const BODY_LENGTH = 43;
const CHECKSUM_LENGTH = 6;
const SECRET_PATTERN = new RegExp(`^${SECRET_PREFIX}[0-9A-Za-z]{${BODY_LENGTH + CHECKSUM_LENGTH}}$`);

function checksum(text: string): string {
  const value = crc32(text) >>> 0;
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(value);
  return base62(bytes, CHECKSUM_LENGTH);
}

export interface NewSecret {
  /** The secret itself: returned to the caller once, never stored. */
  readonly secret: string;
  readonly sha256: Buffer;
  readonly last4: string;
}

export function generateSecret(): NewSecret {
  const body = `${SECRET_PREFIX}${base62(randomBytes(32), BODY_LENGTH)}`;
  const secret = `${body}${checksum(body)}`;
  return { secret, sha256: hashSecret(secret), last4: secret.slice(-4) };
}

/** True when `candidate` has Keygate's shape and a matching checksum. */
export function isWellFormedSecret(candidate: string): boolean {
  if (!SECRET_PATTERN.test(candidate)) return false;
  const body = candidate.slice(0, -CHECKSUM_LENGTH);
  return checksum(body) === candidate.slice(-CHECKSUM_LENGTH);
}

export function hashSecret(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

/** Compares two SHA-256 digests in constant time. */
export function digestsEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** What the admin API shows instead of a secret: `kgs_••••a1b2`. */
export function secretHint(last4: string): string {
  return `${SECRET_PREFIX}••••${last4}`;
}
