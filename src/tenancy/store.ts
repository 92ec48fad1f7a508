import type { Knex } from 'knex';
import { translatePgError, withPgErrors } from '../db/errors.js';

/** Accounts and environments: the tenancy module owns these tables; other modules read them through here. */

export interface Account {
  readonly id: string;
  readonly name: string;
  readonly status: 'active' | 'closed';
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export interface Environment extends Account {
  readonly accountId: string;
}

/** Where a keypair lives: an account's own (environmentId null) or one environment of it. */
export interface Owner {
  readonly accountId: string;
  readonly environmentId: string | null;
}

interface AccountRow {
  id: string;
  name: string;
  status: 'active' | 'closed';
  created_at: Date;
  updated_at: Date;
}

interface EnvironmentRow extends AccountRow {
  account_id: string;
}

const toAccount = (row: AccountRow): Account => ({ id: row.id, name: row.name, status: row.status, createdAt: row.created_at, updatedAt: row.updated_at });
const toEnvironment = (row: EnvironmentRow): Environment => ({ ...toAccount(row), accountId: row.account_id });

type Db = Knex | Knex.Transaction;

/** What a refused name means: the edge checks it, so only a client racing a newer rule could meet this. */
const NAME_FIELD = { field: 'name' };

export async function listAccounts(db: Db): Promise<Account[]> {
  return (await db<AccountRow>('accounts').orderBy('created_at').orderBy('id')).map(toAccount);
}

/** One account; `forUpdate` locks its row for the caller's transaction (a change, a close). */
export async function findAccount(db: Db, id: string, options: { forUpdate?: boolean } = {}): Promise<Account | undefined> {
  const query = db<AccountRow>('accounts').where({ id });
  if (options.forUpdate) void query.forUpdate();
  const row = await query.first();
  return row && toAccount(row);
}

export async function findEnvironment(db: Db, id: string, options: { forUpdate?: boolean } = {}): Promise<Environment | undefined> {
  const query = db<EnvironmentRow>('environments').where({ id });
  if (options.forUpdate) void query.forUpdate();
  const row = await query.first();
  return row && toEnvironment(row);
}

export async function listEnvironments(db: Db, accountId: string): Promise<Environment[]> {
  return (await db<EnvironmentRow>('environments').where({ account_id: accountId }).orderBy('created_at').orderBy('id')).map(toEnvironment);
}

/** The ids among `ids` that name an account (open or closed). */
export async function existingAccountIds(db: Db, ids: readonly string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  return new Set(await db('accounts').whereIn('id', [...ids]).pluck<string[]>('id'));
}

export async function insertAccount(trx: Knex.Transaction, account: { id: string; name: string }, now: Date): Promise<void> {
  await withPgErrors(trx('accounts').insert({ ...account, created_at: now, updated_at: now }), NAME_FIELD);
}

/** Inserts an environment; its account gone meanwhile is a 404. */
export async function insertEnvironment(trx: Knex.Transaction, environment: { id: string; accountId: string; name: string }, now: Date): Promise<void> {
  await trx('environments')
    .insert({ id: environment.id, account_id: environment.accountId, name: environment.name, created_at: now, updated_at: now })
    .catch((error: unknown) => translatePgError(error, { ...NAME_FIELD, foreignKey: { code: 'not_found', message: 'Account not found.' } }));
}

export async function renameAccountRow(trx: Knex.Transaction, id: string, name: string, now: Date): Promise<void> {
  await withPgErrors(trx('accounts').where({ id }).update({ name, updated_at: now }), NAME_FIELD);
}

export async function renameEnvironmentRow(trx: Knex.Transaction, id: string, name: string, now: Date): Promise<void> {
  await withPgErrors(trx('environments').where({ id }).update({ name, updated_at: now }), NAME_FIELD);
}

/** Marks an environment closed and lapses the admin grants on it. */
export async function closeEnvironmentRow(trx: Knex.Transaction, id: string, now: Date): Promise<void> {
  await trx('environments').where({ id }).update({ status: 'closed', updated_at: now });
  await trx('memberships').where({ environment_id: id }).delete();
}

/** Marks an account and its open environments closed and lapses every admin grant on them. */
export async function closeAccountRow(trx: Knex.Transaction, id: string, now: Date): Promise<void> {
  await trx('environments').where({ account_id: id, status: 'active' }).update({ status: 'closed', updated_at: now });
  await trx('accounts').where({ id }).update({ status: 'closed', updated_at: now });
  await trx('memberships').where({ account_id: id }).orWhereIn('environment_id', trx('environments').select('id').where({ account_id: id })).delete();
}

/**
 * Locks the row of a keypair owner (its environment, or its account) for the caller's
 * transaction, whatever its status: the lock every path that raises an owner's active
 * keypair count holds while it counts, and that closing the owner takes first.
 */
export async function lockOwner(trx: Knex.Transaction, owner: Owner): Promise<void> {
  if (owner.environmentId !== null) await trx('environments').where({ id: owner.environmentId }).forUpdate().first('id');
  else await trx('accounts').where({ id: owner.accountId }).forUpdate().first('id');
}

/**
 * Locks an owner that is open (an environment whose account is open too), as lockOwner
 * does, and says whose it is; undefined when it is closed or does not exist.
 */
export async function lockActiveOwner(trx: Knex.Transaction, owner: { accountId: string } | { environmentId: string }): Promise<Owner | undefined> {
  if ('environmentId' in owner) {
    const environment = await trx('environments')
      .join('accounts', 'accounts.id', 'environments.account_id')
      .where({ 'environments.id': owner.environmentId, 'environments.status': 'active', 'accounts.status': 'active' })
      .forUpdate()
      .first<{ account_id: string } | undefined>('environments.account_id');
    return environment && { accountId: environment.account_id, environmentId: owner.environmentId };
  }
  const account = await trx('accounts').where({ id: owner.accountId, status: 'active' }).forUpdate().first<{ id: string } | undefined>('id');
  return account && { accountId: account.id, environmentId: null };
}
