import type { Knex } from 'knex';
import { SYSTEM_ACTOR } from '../audit/store.js';
import { findKeypair } from '../keypairs/store.js';
import { enqueueNotifications, notifiedSince } from '../notifications/store.js';
import type { Clock } from '../shared/clock.js';
import type { Logger } from '../shared/log.js';
import type { UsageRecord } from './store.js';

/**
 * At most one "retired secret still in use" notice per keypair in this many hours: 24.
 * Per keypair, not per address: whoever holds a leaked old secret cannot turn it into
 * a flood of mail by changing addresses.
 */
export const RETIRED_SECRET_NOTICE_HOURS = 24;
/** Addresses one notice names at most: 5 (the first seen in the batch). */
const MAX_ADDRESSES = 5;

/**
 * Tells a keypair's admins which addresses still send a secret that a rotation retired:
 * those requests are refused and do not count toward auto-disable, so without this
 * notice an old deployment would fail quietly. It runs after each usage batch is
 * written; the check for an earlier notice and the new one are made under the keypair's
 * row lock, so with several processes a keypair gets one notice per period. Never the
 * secret: the notice holds the addresses and the time.
 */
export class RetiredSecretNotices {
  constructor(private readonly deps: { readonly db: Knex; readonly clock: Clock; readonly log: Logger }) {}

  async check(records: readonly UsageRecord[]): Promise<void> {
    const seen = new Map<string, { addresses: Set<string>; last: Date }>();
    for (const record of records) {
      if (record.reason !== 'secret_retired') continue;
      let entry = seen.get(record.clientId);
      if (!entry) seen.set(record.clientId, (entry = { addresses: new Set(), last: record.at }));
      if (record.ip !== null && entry.addresses.size < MAX_ADDRESSES) entry.addresses.add(record.ip);
      if (record.at > entry.last) entry.last = record.at;
    }
    for (const [clientId, entry] of seen) await this.#notify(clientId, entry);
  }

  async #notify(clientId: string, entry: { addresses: Set<string>; last: Date }): Promise<void> {
    const { db, clock } = this.deps;
    const now = clock.now();
    const since = new Date(now.getTime() - RETIRED_SECRET_NOTICE_HOURS * 3_600_000);
    // Most batches come after the day's notice: answered without a lock.
    if (await notifiedSince(db, clientId, 'keypair.retired_secret_used', since)) return;
    const notified = await db.transaction(async (trx) => {
      const keypair = await findKeypair(trx, clientId, { forUpdate: true });
      if (!keypair || (await notifiedSince(trx, clientId, 'keypair.retired_secret_used', since))) return false;
      await enqueueNotifications(trx, [{
        event: 'keypair.retired_secret_used',
        clientId,
        accountId: keypair.accountId,
        environmentId: keypair.environmentId,
        payload: { name: keypair.name, actorType: SYSTEM_ACTOR.type, actorId: null, at: entry.last.toISOString(), addresses: [...entry.addresses] },
      }], now);
      return true;
    });
    if (notified) this.deps.log.info('retired secret still in use: admins notified', { clientId, addresses: [...entry.addresses] });
  }
}
