import type { Knex } from 'knex';
import { SYSTEM_ACTOR } from '../audit/store.js';
import type { Clock } from '../shared/clock.js';
import { notifyAdmins } from './notices.js';
import { markExpiringWarned } from './store.js';

const DAY_MS = 86_400_000;

/**
 * Queues an expiry warning for every enabled keypair that expires within `days`
 * and has not been warned. The UPDATE marks them in the same statement that picks
 * them, so with several processes each keypair is warned once.
 */
export async function warnExpiring(deps: { readonly db: Knex; readonly clock: Clock }, days: number): Promise<number> {
  const now = deps.clock.now();
  return deps.db.transaction(async (trx) => {
    const expiring = await markExpiringWarned(trx, now, new Date(now.getTime() + days * DAY_MS));
    for (const keypair of expiring) {
      await notifyAdmins(trx, 'keypair.expiring', keypair, SYSTEM_ACTOR, now, { expiresAt: keypair.expiresAt.toISOString() });
    }
    return expiring.length;
  });
}
