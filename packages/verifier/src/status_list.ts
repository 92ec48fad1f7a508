/**
 * Token status lists (draft-ietf-oauth-status-list): fetched from the trusted issuer
 * only, verified with the same keys as the tokens, cached for the `ttl` each states.
 */
import { inflateSync } from 'node:zlib';
import { base64url, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { VerifierError } from './errors.js';

interface StatusList {
  readonly bits: number;
  readonly lst: Uint8Array;
  /** Until when (ms since the epoch) the fetched list is used. */
  readonly until: number;
}

export interface StatusCheckOptions {
  /** The issuer without trailing slashes: lists must live under it. */
  readonly issuer: string;
  readonly algorithms: string[];
  /** Seconds. */
  readonly clockTolerance: number;
  readonly currentDate: () => Date;
  /** 'accept' lets a token through when its list cannot be fetched; anything else refuses it. */
  readonly statusListFailure: 'reject' | 'accept' | undefined;
}

/** Refuses a token whose status is anything but valid; resolves when it is valid or carries no status. */
export type StatusCheck = (payload: JWTPayload, getKey: JWTVerifyGetKey) => Promise<void>;

/** One verifier's status-list cache and check. */
export function createStatusCheck(options: StatusCheckOptions): StatusCheck {
  const { issuer, algorithms, clockTolerance, currentDate } = options;
  /** Status lists by URI, kept for the `ttl` each one states. */
  const statusLists = new Map<string, StatusList>();
  const pending = new Map<string, Promise<StatusList>>();

  const fetchStatusList = async (uri: string, getKey: JWTVerifyGetKey) => {
    const response = await fetch(uri, { headers: { accept: 'application/statuslist+jwt' }, signal: AbortSignal.timeout(5000) });
    if (!response.ok) throw new Error(`status list answered ${response.status}`);
    const { payload } = await jwtVerify(await response.text(), getKey, { issuer, typ: 'statuslist+jwt', algorithms, clockTolerance, currentDate: currentDate() });
    const list = payload.status_list as { bits?: unknown; lst?: unknown } | undefined;
    if (payload.sub !== uri || !list || ![1, 2, 4, 8].includes(list.bits as number) || typeof list.lst !== 'string') throw new Error('not a status list token for this URI');
    const ttl = typeof payload.ttl === 'number' && payload.ttl > 0 ? payload.ttl : 60;
    const until = Math.min(currentDate().getTime() + ttl * 1000, typeof payload.exp === 'number' ? payload.exp * 1000 : Infinity);
    return { bits: list.bits as number, lst: new Uint8Array(inflateSync(base64url.decode(list.lst))), until };
  };

  return async (payload, getKey) => {
    const reference = (payload.status as { status_list?: { idx?: unknown; uri?: unknown } } | undefined)?.status_list;
    if (reference === undefined) return;
    const { idx, uri } = reference;
    // Only lists of the trusted issuer are fetched: a claim cannot send the verifier elsewhere.
    if (typeof uri !== 'string' || !uri.startsWith(`${issuer}/`) || !Number.isSafeInteger(idx) || (idx as number) < 0) {
      throw new VerifierError('claim_invalid', 'the status claim is not accepted');
    }
    let list = statusLists.get(uri);
    if (!list || list.until <= currentDate().getTime()) {
      let fetching = pending.get(uri);
      if (!fetching) {
        fetching = fetchStatusList(uri, getKey).finally(() => pending.delete(uri));
        pending.set(uri, fetching);
      }
      try {
        list = await fetching;
        statusLists.set(uri, list);
      } catch (error) {
        if (options.statusListFailure === 'accept') return;
        throw new VerifierError('status_unavailable', 'the token status list could not be fetched', [], { cause: error });
      }
    }
    const position = (idx as number) * list.bits;
    const byte = list.lst[position >> 3];
    if (byte === undefined) throw new VerifierError('claim_invalid', 'the status index is outside its list');
    const status = (byte >> (position & 7)) & ((1 << list.bits) - 1);
    if (status !== 0) throw new VerifierError('token_revoked', 'the token has been revoked');
  };
}
