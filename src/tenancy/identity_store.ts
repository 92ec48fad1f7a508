import type { Knex } from 'knex';
import { ASCII_LOWER_EMAIL_SQL } from './email.js';

/** What admin authentication reads: linked external identities (user_identities) and a user's grants with their owners' status. */

/** The user an external identity provider's (`iss`, `sub`) is linked to, if any. */
export async function findLinkedUserId(db: Knex, issuer: string, subject: string): Promise<string | undefined> {
  const linked = await db('user_identities').where({ issuer, subject }).first<{ user_id: string } | undefined>('user_id');
  return linked?.user_id;
}

/** Links (`iss`, `sub`) to a user; DO NOTHING on either key (a concurrent first sign-in, or another subject of this user). */
export async function linkIdentityUnlessLinked(db: Knex, identity: { issuer: string; subject: string; userId: string; email: string }, now: Date): Promise<void> {
  await db('user_identities').insert({ issuer: identity.issuer, subject: identity.subject, user_id: identity.userId, email: identity.email, linked_at: now }).onConflict().ignore();
}

export interface PrincipalUser {
  readonly id: string;
  readonly email: string;
  readonly name: string;
  readonly is_operator: boolean;
}

/** A user by an A-Z folded email (shared/text.ts) or by id, with what a principal needs. */
export async function findPrincipalUser(db: Knex, who: { folded: string } | { userId: string }): Promise<PrincipalUser | undefined> {
  const query = db('users').select('id', 'email', 'name', 'is_operator');
  return ('folded' in who ? query.whereRaw(`${ASCII_LOWER_EMAIL_SQL} = ?`, [who.folded]) : query.where({ id: who.userId })).first<PrincipalUser | undefined>();
}

/** One admin grant of a user, with the status of what it is on (a closed owner's grant counts for nothing). */
export interface GrantWithStatus {
  readonly account_id: string | null;
  readonly environment_id: string | null;
  readonly environment_account_id: string | null;
  readonly account_status: string | null;
  readonly environment_status: string | null;
  readonly environment_account_status: string | null;
}

export async function grantsWithStatus(db: Knex, userId: string): Promise<GrantWithStatus[]> {
  return db('memberships as m')
    .leftJoin('accounts as a', 'a.id', 'm.account_id')
    .leftJoin('environments as e', 'e.id', 'm.environment_id')
    .leftJoin('accounts as ea', 'ea.id', 'e.account_id')
    .where('m.user_id', userId)
    .select<GrantWithStatus[]>('m.account_id', 'm.environment_id', 'e.account_id as environment_account_id', 'a.status as account_status', 'e.status as environment_status', 'ea.status as environment_account_status');
}
