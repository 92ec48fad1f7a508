import type { Knex } from 'knex';
import { ASCII_LOWER_EMAIL_SQL } from './email.js';
import { isUniqueViolation, translatePgError, withPgErrors } from '../db/errors.js';

/** Users, their admin grants (memberships) and their linked identities: the tenancy module's tables for people. */

export interface User {
  readonly id: string;
  readonly email: string;
  readonly name: string;
  readonly isOperator: boolean;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export interface Membership {
  readonly userId: string;
  readonly role: 'admin';
  readonly accountId: string | null;
  readonly environmentId: string | null;
  readonly createdAt: Date;
}

/** Where an admin grant applies: an account, or one environment of it. */
export type AdminScope = { accountId: string } | { environmentId: string; accountId: string };

interface UserRow {
  id: string;
  email: string;
  name: string;
  is_operator: boolean;
  created_at: Date;
  updated_at: Date;
}

const toUser = (row: UserRow): User => ({
  id: row.id,
  email: row.email,
  name: row.name,
  isOperator: row.is_operator,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

type Db = Knex | Knex.Transaction;

/** A duplicate email is a 409; the unique index (lower(email)) decides between concurrent creates. */
const USER_WRITE = { unique: 'A user with this email exists.' };

export async function listUsers(db: Db): Promise<User[]> {
  return (await db<UserRow>('users').orderBy('created_at').orderBy('id')).map(toUser);
}

export async function findUser(db: Db, id: string, options: { forUpdate?: boolean } = {}): Promise<User | undefined> {
  const query = db<UserRow>('users').where({ id });
  if (options.forUpdate) void query.forUpdate();
  const row = await query.first();
  return row && toUser(row);
}

/** A user whose email equals `email` under PostgreSQL's lower(), the rule of the unique index. */
export async function findUserByLowerEmail(db: Db, email: string): Promise<User | undefined> {
  const row = await db<UserRow>('users').whereRaw('lower(email) = lower(?)', [email]).first();
  return row && toUser(row);
}

/** A user by an email already A-Z folded (shared/text.ts): how sign-in and invitations match. */
export async function findUserByFoldedEmail(db: Db, folded: string): Promise<User | undefined> {
  const row = await db<UserRow>('users').whereRaw(`${ASCII_LOWER_EMAIL_SQL} = ?`, [folded]).first();
  return row && toUser(row);
}

export async function countUsers(db: Db): Promise<number> {
  const [row] = await db('users').count<{ count: number }[]>({ count: '*' });
  return Number(row?.count ?? 0);
}

export interface NewUser {
  readonly id: string;
  readonly email: string;
  readonly name: string;
  readonly isOperator: boolean;
}

const userRow = (user: NewUser, now: Date) => ({ id: user.id, email: user.email, name: user.name, is_operator: user.isOperator, created_at: now, updated_at: now });

/** Inserts a user; an email taken meanwhile (a concurrent create) is a 409. */
export async function insertUser(trx: Knex.Transaction, user: NewUser, now: Date): Promise<void> {
  await withPgErrors(trx('users').insert(userRow(user, now)), USER_WRITE);
}

/** Inserts a user unless its email is taken (a concurrent invitation of the same address); true when inserted. */
export async function insertUserUnlessTaken(trx: Knex.Transaction, user: NewUser, now: Date): Promise<boolean> {
  const inserted = await withPgErrors(trx('users').insert(userRow(user, now)).onConflict().ignore().returning('id'), USER_WRITE);
  return inserted.length === 1;
}

export async function updateUserRow(trx: Knex.Transaction, id: string, changes: { name?: string; isOperator?: boolean }, now: Date): Promise<void> {
  await withPgErrors(
    trx('users').where({ id }).update({
      ...(changes.name !== undefined && { name: changes.name }),
      ...(changes.isOperator !== undefined && { is_operator: changes.isOperator }),
      updated_at: now,
    }),
    { field: 'name' },
  );
}

export async function membershipsOf(db: Db, userId: string): Promise<Membership[]> {
  const rows = await db('memberships').where({ user_id: userId }).orderBy('created_at').orderBy('id');
  return rows.map((row: { user_id: string; account_id: string | null; environment_id: string | null; created_at: Date }) => ({
    userId: row.user_id,
    role: 'admin' as const,
    accountId: row.account_id,
    environmentId: row.environment_id,
    createdAt: row.created_at,
  }));
}

/** A user of an account: one holding an admin grant on it or on one of its environments. */
export async function isUserOfAccount(db: Db, userId: string, accountId: string): Promise<boolean> {
  const grant = await db('memberships')
    .where({ user_id: userId })
    .andWhere((where) => where.where({ account_id: accountId }).orWhereIn('environment_id', db('environments').select('id').where({ account_id: accountId })))
    .first('user_id');
  return grant !== undefined;
}

const membershipKey = (userId: string, scope: AdminScope) =>
  'environmentId' in scope ? { user_id: userId, environment_id: scope.environmentId } : { user_id: userId, account_id: scope.accountId };

export async function hasMembership(db: Db, userId: string, scope: AdminScope): Promise<boolean> {
  return (await db('memberships').where(membershipKey(userId, scope)).first('id')) !== undefined;
}

/**
 * Inserts an admin grant. A duplicate is left to the caller (isUniqueViolation: a
 * concurrent grant of the same role is "granted, not by this call"); a user or scope
 * gone meanwhile is a 404.
 */
export async function insertMembership(trx: Knex.Transaction, membership: { id: string; userId: string; scope: AdminScope }, now: Date): Promise<void> {
  await trx('memberships')
    .insert({ id: membership.id, ...membershipKey(membership.userId, membership.scope), role: 'admin', created_at: now })
    .catch((error: unknown) => {
      if (isUniqueViolation(error)) throw error;
      return translatePgError(error, { foreignKey: { code: 'not_found', message: 'User not found.' } });
    });
}

/** Removes an admin grant; false when there was none. */
export async function deleteMembership(trx: Knex.Transaction, userId: string, scope: AdminScope): Promise<boolean> {
  return (await trx('memberships').where(membershipKey(userId, scope)).delete()) > 0;
}

/** The emails of the admins of an environment and of its account (or of the account alone), sorted. */
export async function adminEmailsOf(db: Db, accountId: string, environmentId: string | null): Promise<string[]> {
  const rows = await db('memberships')
    .join('users', 'users.id', 'memberships.user_id')
    .where((query) => {
      void query.where('memberships.account_id', accountId);
      if (environmentId !== null) void query.orWhere('memberships.environment_id', environmentId);
    })
    .distinct<Array<{ email: string }>>('users.email')
    .orderBy('users.email');
  return rows.map((row) => row.email);
}
