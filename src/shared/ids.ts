import { randomBytes } from 'node:crypto';

/** Every id Keygate mints carries one of these prefixes, so a stray id says what it is. */
const PREFIXES = {
  account: 'acc',
  environment: 'env',
  user: 'usr',
  resourceServer: 'rs',
  keypair: 'kp',
  secret: 'sec',
  event: 'evt',
  membership: 'mem',
  trustedIssuer: 'ti',
} as const;

export type IdKind = keyof typeof PREFIXES;

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** Base62 of a byte string, left-padded to a fixed width so every encoding has the same length. */
export function base62(bytes: Uint8Array, width: number): string {
  let value = BigInt(`0x${Buffer.from(bytes).toString('hex') || '0'}`);
  let out = '';
  while (value > 0n) {
    out = BASE62[Number(value % 62n)] + out;
    value /= 62n;
  }
  return out.padStart(width, '0');
}

/** `newId('keypair')` -> `kp_3hQ...`: 128 random bits, base62. */
export function newId(kind: IdKind): string {
  return `${PREFIXES[kind]}_${base62(randomBytes(16), 22)}`;
}

export function hasPrefix(kind: IdKind, id: string): boolean {
  return new RegExp(`^${PREFIXES[kind]}_[0-9A-Za-z]{22}$`).test(id);
}
