import type { Knex } from 'knex';
import { KeygateError, notFound } from '../shared/errors.js';
import { lockActiveOwner, type Owner } from '../tenancy/store.js';
import { countActiveKeypairs } from './store.js';

export { lockOwner } from '../tenancy/store.js';

/** An owner as admins name it: an account (its own keypairs) or an environment. */
export type KeypairOwner = { readonly accountId: string; readonly environmentId?: undefined } | { readonly environmentId: string; readonly accountId?: undefined };

/**
 * Locks an open owner for the transaction and says whose it is (an environment's
 * account): every path that raises the owner's active count holds this lock while it
 * counts, so two of them cannot both pass the cap. A closed or unknown owner is a 404.
 */
export async function resolveOwner(trx: Knex.Transaction, owner: KeypairOwner): Promise<Owner> {
  const resolved = await lockActiveOwner(trx, owner.environmentId !== undefined ? { environmentId: owner.environmentId } : { accountId: owner.accountId });
  if (!resolved) throw notFound(owner.environmentId !== undefined ? 'Environment' : 'Account');
  return resolved;
}

/**
 * Refuses a keypair that would take its owner past MAX_ACTIVE_KEYPAIRS. The caller
 * holds the owner's lock (lockOwner, resolveOwner), so two raises cannot both pass.
 */
export async function checkActiveCap(trx: Knex.Transaction, owner: Owner, now: Date, maxActive: number): Promise<void> {
  const active = await countActiveKeypairs(trx, owner, now);
  if (active >= maxActive) {
    const where = owner.environmentId === null ? 'this account' : 'this environment';
    throw new KeygateError('limit_reached', `${where} already has ${active} active keypairs, the most allowed (${maxActive}); disable or delete one first.`);
  }
}
