import type { Knex } from 'knex';
import type { Clock } from '../shared/clock.js';
import { KeygateError } from '../shared/errors.js';
import { listExpiredBefore } from './store.js';

const DAY_MS = 86_400_000;

/**
 * Deletes keypairs that expired more than `retentionDays` ago, each through
 * `deleteKeypair` (audited, its admins told, with the reason given); returns how many.
 */
export async function deleteExpired(
  deps: { readonly db: Knex; readonly clock: Clock },
  retentionDays: number,
  deleteKeypair: (clientId: string, reason: string) => Promise<void>,
): Promise<number> {
  const cutoff = new Date(deps.clock.now().getTime() - retentionDays * DAY_MS);
  let deleted = 0;
  for (const clientId of await listExpiredBefore(deps.db, cutoff)) {
    try {
      await deleteKeypair(clientId, `expired more than ${retentionDays} days ago`);
      deleted += 1;
    } catch (error) {
      // Another process's cleanup (or an admin) got there first.
      if (!(error instanceof KeygateError && error.code === 'not_found')) throw error;
    }
  }
  return deleted;
}
