import { deflateSync } from 'node:zlib';
import { importJWK, SignJWT } from 'jose';
import type { Knex } from 'knex';
import { validStatusIndexes } from '../keypairs/store.js';
import type { Clock } from '../shared/clock.js';
import { signingKey, type KeySet } from '../signing/keystore.js';
import type { SigningAlg } from '../config/config.js';

/** Indexes per status list: 65,536 (8 KiB of bits before compression). Lists grow one page at a time. */
export const STATUS_LIST_SIZE = 65_536;

/** Where a global status index lives: which list, and the index within it. */
export function statusReference(issuer: string, globalIndex: number): { idx: number; uri: string } {
  return { idx: globalIndex % STATUS_LIST_SIZE, uri: statusListUri(issuer, Math.floor(globalIndex / STATUS_LIST_SIZE)) };
}

export function statusListUri(issuer: string, listId: number): string {
  return `${issuer}/statuslists/${listId}`;
}

/**
 * The bits of one list, computed from the database as it is now: an allocated index
 * is 1 (invalid) unless its secret still exists, is not past its grace period, and
 * belongs to an enabled, unexpired keypair. Disabling, deleting, closing the owner
 * and the end of a rotation's grace period all set bits without any bookkeeping of
 * their own; re-enabling clears them.
 */
export async function listBits(db: Knex, listId: number, now: Date): Promise<Buffer | undefined> {
  const sequence = await db.raw<{ rows: Array<{ last_value: number; is_called: boolean }> }>('select last_value, is_called from status_list_index_seq');
  const { last_value: lastValue, is_called: isCalled } = sequence.rows[0]!;
  const allocated = isCalled ? Number(lastValue) + 1 : 0;
  const first = listId * STATUS_LIST_SIZE;
  if (!Number.isSafeInteger(first) || first >= Math.max(allocated, 1)) return undefined;

  const end = Math.min(first + STATUS_LIST_SIZE, allocated);
  const valid = await validStatusIndexes(db, first, end, now);
  const bits = Buffer.alloc(STATUS_LIST_SIZE / 8);
  // The draft's order: index i is bit (i % 8) of byte floor(i / 8), least significant first.
  for (let index = 0; index < end - first; index += 1) bits[index >> 3]! |= 1 << (index & 7);
  for (const statusIdx of valid) {
    const index = statusIdx - first;
    bits[index >> 3]! &= ~(1 << (index & 7));
  }
  return bits;
}

/** STATUS_LIST_TTL default: 30 (seconds) of staleness a resource server may have. */
export const DEFAULT_STATUS_LIST_TTL = 30;

/**
 * The Status List Token: a JWT (`typ: statuslist+jwt`) signed with the server's key,
 * `sub` = the list's URI, `status_list` = { bits: 1, lst: base64url(zlib(bits)) }.
 */
export async function statusListToken(
  options: { issuer: string; keySet: KeySet; alg: SigningAlg; ttlSeconds: number },
  listId: number,
  bits: Buffer,
  now: Date,
): Promise<string> {
  const key = signingKey(options.keySet, options.alg, Math.floor(now.getTime() / 1000));
  const { created_at: _createdAt, signs_from: _signsFrom, ...jwk } = key;
  const iat = Math.floor(now.getTime() / 1000);
  return new SignJWT({ ttl: options.ttlSeconds, status_list: { bits: 1, lst: deflateSync(bits).toString('base64url') } })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'statuslist+jwt' })
    .setIssuer(options.issuer)
    .setSubject(statusListUri(options.issuer, listId))
    .setIssuedAt(iat)
    // A list stops being usable a little after it should have been refreshed.
    .setExpirationTime(iat + options.ttlSeconds * 2)
    .sign(await importJWK(jwk, key.alg));
}

/** Serves GET /statuslists/:id, with the bits cached for a second across requests. */
export class StatusLists {
  #cache = new Map<number, { at: number; token: string }>();

  constructor(
    private readonly deps: { db: Knex; clock: Clock; issuer: string; alg: SigningAlg; ttlSeconds: number; keySet: () => KeySet },
  ) {}

  /** Drops cached lists (a keypair changed). */
  invalidate(): void {
    this.#cache.clear();
  }

  async token(listId: number): Promise<string | undefined> {
    const now = this.deps.clock.now();
    const cached = this.#cache.get(listId);
    if (cached && now.getTime() - cached.at < 1000) return cached.token;
    const bits = await listBits(this.deps.db, listId, now);
    if (!bits) return undefined;
    const token = await statusListToken({ issuer: this.deps.issuer, keySet: this.deps.keySet(), alg: this.deps.alg, ttlSeconds: this.deps.ttlSeconds }, listId, bits, now);
    this.#cache.set(listId, { at: now.getTime(), token });
    return token;
  }
}
