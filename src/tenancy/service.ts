import type { Knex } from 'knex';
import { ASCII_LOWER_EMAIL_SQL, asciiLowerCase } from '../access/email.js';
import { appendEvent, type Actor } from '../audit/store.js';
import { isUniqueViolation } from '../db/errors.js';
import type { ChangeFeed } from '../db/notify.js';
import type { Clock } from '../shared/clock.js';
import { KeygateError, notFound } from '../shared/errors.js';
import { newId } from '../shared/ids.js';

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

interface AccountRow {
  id: string;
  name: string;
  status: 'active' | 'closed';
  created_at: Date;
  updated_at: Date;
  account_id?: string;
}

const toAccount = (row: AccountRow): Account => ({ id: row.id, name: row.name, status: row.status, createdAt: row.created_at, updatedAt: row.updated_at });
const toEnvironment = (row: AccountRow): Environment => ({ ...toAccount(row), accountId: row.account_id! });
const toUser = (row: { id: string; email: string; name: string; is_operator: boolean; created_at: Date; updated_at: Date }): User => ({
  id: row.id,
  email: row.email,
  name: row.name,
  isOperator: row.is_operator,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

/** Where an admin grant applies: an account, or one environment of it. */
export type AdminScope = { accountId: string } | { environmentId: string; accountId: string };

/** Whom a grant may reach: anyone (operators) or the users of the scope's account (account admins). */
export type GrantReach = 'anyone' | 'account';

/** A user of an account: one holding an admin grant on it or on one of its environments. */
async function isUserOfAccount(db: Knex, userId: string, accountId: string): Promise<boolean> {
  const grant = await db('memberships')
    .where({ user_id: userId })
    .andWhere((where) => where.where({ account_id: accountId }).orWhereIn('environment_id', db('environments').select('id').where({ account_id: accountId })))
    .first('user_id');
  return grant !== undefined;
}

export interface TenancyServiceDeps {
  readonly db: Knex;
  readonly changes: ChangeFeed;
  readonly clock: Clock;
}

/** Accounts, environments, users and admin grants, each change with its audit event. */
export class TenancyService {
  constructor(private readonly deps: TenancyServiceDeps) {}

  private get db(): Knex {
    return this.deps.db;
  }

  async listAccounts(): Promise<Account[]> {
    return (await this.db<AccountRow>('accounts').orderBy('created_at').orderBy('id')).map(toAccount);
  }

  async findAccount(id: string): Promise<Account | undefined> {
    const row = await this.db<AccountRow>('accounts').where({ id }).first();
    return row && toAccount(row);
  }

  async findEnvironment(id: string): Promise<Environment | undefined> {
    const row = await this.db<AccountRow>('environments').where({ id }).first();
    return row && toEnvironment(row);
  }

  async listEnvironments(accountId: string): Promise<Environment[]> {
    return (await this.db<AccountRow>('environments').where({ account_id: accountId }).orderBy('created_at').orderBy('id')).map(toEnvironment);
  }

  async createAccount(actor: Actor, name: string): Promise<Account> {
    const now = this.deps.clock.now();
    const id = newId('account');
    await this.db.transaction(async (trx) => {
      await trx('accounts').insert({ id, name, created_at: now, updated_at: now });
      await appendEvent(trx, actor, { action: 'account.created', targetType: 'account', targetId: id, accountId: id, environmentId: null, after: { name } }, now);
    });
    return (await this.findAccount(id))!;
  }

  async renameAccount(actor: Actor, id: string, name: string): Promise<Account> {
    await this.rename(actor, 'accounts', 'account', id, name);
    return (await this.findAccount(id))!;
  }

  async createEnvironment(actor: Actor, accountId: string, name: string): Promise<Environment> {
    const now = this.deps.clock.now();
    const id = newId('environment');
    await this.db.transaction(async (trx) => {
      const account = await trx('accounts').where({ id: accountId, status: 'active' }).forUpdate().first();
      if (!account) throw notFound('Account');
      await trx('environments').insert({ id, account_id: accountId, name, created_at: now, updated_at: now });
      await appendEvent(trx, actor, { action: 'environment.created', targetType: 'environment', targetId: id, accountId, environmentId: id, after: { name } }, now);
    });
    return (await this.findEnvironment(id))!;
  }

  async renameEnvironment(actor: Actor, id: string, name: string): Promise<Environment> {
    await this.rename(actor, 'environments', 'environment', id, name);
    return (await this.findEnvironment(id))!;
  }

  private async rename(actor: Actor, table: 'accounts' | 'environments', kind: 'account' | 'environment', id: string, name: string): Promise<void> {
    const now = this.deps.clock.now();
    await this.db.transaction(async (trx) => {
      const row = await trx<AccountRow>(table).where({ id }).forUpdate().first();
      if (!row) throw notFound(kind === 'account' ? 'Account' : 'Environment');
      if (row.status === 'closed') throw new KeygateError('conflict', `The ${kind} is closed.`);
      if (row.name === name) return;
      await trx(table).where({ id }).update({ name, updated_at: now });
      const accountId = kind === 'account' ? id : row.account_id!;
      await appendEvent(trx, actor, { action: `${kind}.updated`, targetType: kind, targetId: id, accountId, environmentId: kind === 'environment' ? id : null, before: { name: row.name }, after: { name } }, now);
    });
  }

  /**
   * Closes an environment: its keypairs cease to exist (each deletion audited), its
   * admin grants lapse, and the row stays, closed, for the history.
   */
  async closeEnvironment(actor: Actor, id: string): Promise<void> {
    const now = this.deps.clock.now();
    await this.db.transaction(async (trx) => {
      const environment = await trx<AccountRow>('environments').where({ id }).forUpdate().first();
      if (!environment || environment.status === 'closed') throw notFound('Environment');
      const clientIds = await this.deleteKeypairsOf(trx, actor, { environment_id: id }, now);
      await trx('environments').where({ id }).update({ status: 'closed', updated_at: now });
      await trx('memberships').where({ environment_id: id }).delete();
      await appendEvent(trx, actor, { action: 'environment.closed', targetType: 'environment', targetId: id, accountId: environment.account_id!, environmentId: id, after: { deletedKeypairs: clientIds.length } }, now);
      await this.deps.changes.publish(trx, clientIds);
    });
  }

  /** Closes an account and every environment of it, deleting all their keypairs. */
  async closeAccount(actor: Actor, id: string): Promise<void> {
    const now = this.deps.clock.now();
    await this.db.transaction(async (trx) => {
      const account = await trx<AccountRow>('accounts').where({ id }).forUpdate().first();
      if (!account || account.status === 'closed') throw notFound('Account');
      const clientIds = await this.deleteKeypairsOf(trx, actor, { account_id: id }, now);
      await trx('environments').where({ account_id: id, status: 'active' }).update({ status: 'closed', updated_at: now });
      await trx('accounts').where({ id }).update({ status: 'closed', updated_at: now });
      await trx('memberships').where({ account_id: id }).orWhereIn('environment_id', trx('environments').select('id').where({ account_id: id })).delete();
      await appendEvent(trx, actor, { action: 'account.closed', targetType: 'account', targetId: id, accountId: id, environmentId: null, after: { deletedKeypairs: clientIds.length } }, now);
      await this.deps.changes.publish(trx, clientIds);
    });
  }

  private async deleteKeypairsOf(trx: Knex.Transaction, actor: Actor, where: { account_id: string } | { environment_id: string }, now: Date): Promise<string[]> {
    const keypairs = await trx('keypairs').where(where).select<Array<{ client_id: string; account_id: string; environment_id: string | null; name: string }>>('client_id', 'account_id', 'environment_id', 'name');
    for (const keypair of keypairs) {
      await appendEvent(trx, actor, {
        action: 'keypair.deleted',
        targetType: 'keypair',
        targetId: keypair.client_id,
        accountId: keypair.account_id,
        environmentId: keypair.environment_id,
        before: { name: keypair.name },
        after: { reason: 'owner closed' },
      }, now);
    }
    await trx('keypairs').where(where).delete();
    return keypairs.map((keypair) => keypair.client_id);
  }

  async listUsers(): Promise<User[]> {
    return (await this.db('users').orderBy('created_at').orderBy('id')).map(toUser);
  }

  async findUser(id: string): Promise<User | undefined> {
    const row = await this.db('users').where({ id }).first();
    return row && toUser(row);
  }

  async createUser(actor: Actor, input: { email: string; name: string; isOperator: boolean }): Promise<User> {
    const now = this.deps.clock.now();
    const id = newId('user');
    await this.db.transaction(async (trx) => {
      const taken = await trx('users').whereRaw('lower(email) = lower(?)', [input.email]).first();
      if (taken) throw new KeygateError('conflict', 'A user with this email exists.');
      await trx('users').insert({ id, email: input.email, name: input.name, is_operator: input.isOperator, created_at: now, updated_at: now }).catch((error: unknown) => {
        // A concurrent create of the same email passed the check above too; the unique index decides.
        if (isUniqueViolation(error)) throw new KeygateError('conflict', 'A user with this email exists.', { cause: error });
        throw error;
      });
      await appendEvent(trx, actor, { action: 'user.created', targetType: 'user', targetId: id, accountId: null, environmentId: null, after: { email: input.email, name: input.name, isOperator: input.isOperator } }, now);
    });
    return (await this.findUser(id))!;
  }

  async updateUser(actor: Actor, id: string, input: { name?: string | undefined; isOperator?: boolean | undefined }): Promise<User> {
    const now = this.deps.clock.now();
    await this.db.transaction(async (trx) => {
      const row = await trx('users').where({ id }).forUpdate().first();
      if (!row) throw notFound('User');
      const before = toUser(row);
      const changes: Record<string, unknown> = {};
      if (input.name !== undefined && input.name !== before.name) changes.name = input.name;
      if (input.isOperator !== undefined && input.isOperator !== before.isOperator) {
        if (!input.isOperator && actor.id === id) throw new KeygateError('conflict', 'Operators cannot remove their own operator role.');
        changes.is_operator = input.isOperator;
      }
      if (Object.keys(changes).length === 0) return;
      await trx('users').where({ id }).update({ ...changes, updated_at: now });
      await appendEvent(trx, actor, {
        action: 'user.updated',
        targetType: 'user',
        targetId: id,
        accountId: null,
        environmentId: null,
        before: { ...(changes.name !== undefined && { name: before.name }), ...(changes.is_operator !== undefined && { isOperator: before.isOperator }) },
        after: { ...(changes.name !== undefined && { name: input.name }), ...(changes.is_operator !== undefined && { isOperator: input.isOperator }) },
      }, now);
    });
    return (await this.findUser(id))!;
  }

  async membershipsOf(userId: string): Promise<Membership[]> {
    const rows = await this.db('memberships').where({ user_id: userId }).orderBy('created_at').orderBy('id');
    return rows.map((row: { user_id: string; account_id: string | null; environment_id: string | null; created_at: Date }) => ({
      userId: row.user_id,
      role: 'admin' as const,
      accountId: row.account_id,
      environmentId: row.environment_id,
      createdAt: row.created_at,
    }));
  }

  /**
   * Grants admin on an account or an environment; granting twice changes nothing. Returns
   * whether it was new. `reach: 'account'` (an account admin granting) accepts only users
   * of the scope's account (who already hold a grant on it or one of its environments):
   * anyone else is "User not found", exactly like an id that does not exist.
   */
  async grantAdmin(actor: Actor, userId: string, scope: AdminScope, reach: GrantReach = 'anyone'): Promise<boolean> {
    return this.db.transaction(async (trx) => {
      const user = await trx('users').where({ id: userId }).first<{ id: string; email: string } | undefined>('id', 'email');
      if (!user || (reach === 'account' && !(await isUserOfAccount(trx, userId, scope.accountId)))) throw notFound('User');
      return this.grantIn(trx, actor, user, scope);
    }).catch((error: unknown) => {
      // A concurrent grant of the same role inserted it first: granted, and not by this call.
      if (isUniqueViolation(error)) return false;
      throw error;
    });
  }

  /**
   * Invites by email: grants admin to the user with this email (A-Z folded, exact
   * otherwise), creating the user when none has it. Whoever may grant on the scope may
   * invite, since the caller names the person by an address it already knows.
   */
  async grantAdminByEmail(actor: Actor, email: string, scope: AdminScope): Promise<{ userId: string; created: boolean }> {
    const now = this.deps.clock.now();
    const folded = asciiLowerCase(email);
    return this.db.transaction(async (trx) => {
      const find = () => trx('users').whereRaw(`${ASCII_LOWER_EMAIL_SQL} = ?`, [folded]).first<{ id: string; email: string } | undefined>('id', 'email');
      let user = await find();
      if (!user) {
        const id = newId('user');
        // DO NOTHING: a concurrent invite of the same address created it first.
        const inserted = await trx('users').insert({ id, email: folded, name: '', is_operator: false, created_at: now, updated_at: now }).onConflict().ignore().returning('id');
        if (inserted.length === 1) {
          await appendEvent(trx, actor, { action: 'user.created', targetType: 'user', targetId: id, accountId: null, environmentId: null, after: { email: folded, name: '', isOperator: false } }, now);
        }
        user = await find();
        // Only PostgreSQL's own lower() (the unique index) saw the two addresses as one.
        if (!user) throw new KeygateError('conflict', 'A user with an email that differs only in case exists.');
      }
      return { userId: user.id, created: await this.grantIn(trx, actor, user, scope) };
    }).catch(async (error: unknown) => {
      // A concurrent invite of the same address granted it first: granted, and not by this call.
      if (!isUniqueViolation(error)) throw error;
      const user = await this.db('users').whereRaw(`${ASCII_LOWER_EMAIL_SQL} = ?`, [folded]).first<{ id: string } | undefined>('id');
      if (!user) throw error;
      return { userId: user.id, created: false };
    });
  }

  private async grantIn(trx: Knex.Transaction, actor: Actor, user: { id: string; email: string }, scope: AdminScope): Promise<boolean> {
    const now = this.deps.clock.now();
    const where = 'environmentId' in scope ? { user_id: user.id, environment_id: scope.environmentId } : { user_id: user.id, account_id: scope.accountId };
    if (await trx('memberships').where(where).first()) return false;
    await trx('memberships').insert({ id: newId('membership'), ...where, role: 'admin', created_at: now });
    const environmentId = 'environmentId' in scope ? scope.environmentId : null;
    await appendEvent(trx, actor, { action: 'membership.granted', targetType: 'user', targetId: user.id, accountId: scope.accountId, environmentId, after: { role: 'admin', email: user.email } }, now);
    return true;
  }

  async revokeAdmin(actor: Actor, userId: string, scope: AdminScope): Promise<void> {
    const now = this.deps.clock.now();
    await this.db.transaction(async (trx) => {
      const where = 'environmentId' in scope ? { user_id: userId, environment_id: scope.environmentId } : { user_id: userId, account_id: scope.accountId };
      const removed = await trx('memberships').where(where).delete();
      if (removed === 0) throw notFound('Admin grant');
      const environmentId = 'environmentId' in scope ? scope.environmentId : null;
      await appendEvent(trx, actor, { action: 'membership.revoked', targetType: 'user', targetId: userId, accountId: scope.accountId, environmentId, before: { role: 'admin' } }, now);
    });
  }
}
