import type { Knex } from 'knex';
import { asciiLowerCase } from './email.js';
import { appendEvent, type Actor } from '../audit/store.js';
import { isUniqueViolation } from '../db/errors.js';
import type { ChangeFeed } from '../db/notify.js';
import type { Clock } from '../shared/clock.js';
import { KeygateError, notFound } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import * as store from './store.js';
import type { Account, Environment } from './store.js';
import * as users from './user_store.js';
import type { AdminScope, Membership, User } from './user_store.js';

export type { Account, Environment } from './store.js';
export type { AdminScope, Membership, User } from './user_store.js';

/** Whom a grant may reach: anyone (operators) or the users of the scope's account (account admins). */
export type GrantReach = 'anyone' | 'account';

/**
 * The keypairs of an owner, which cease to exist when it closes: the keypairs module
 * (KeypairService) deletes and audits them in the close's transaction. A dependency
 * rather than an import, as keypairs build on tenancy (owner locks), not the reverse.
 */
export interface OwnedKeypairs {
  deleteWithOwner(trx: Knex.Transaction, actor: Actor, owner: { accountId: string } | { environmentId: string }, now: Date): Promise<string[]>;
}

export interface TenancyServiceDeps {
  readonly db: Knex;
  readonly changes: ChangeFeed;
  readonly clock: Clock;
  readonly keypairs: OwnedKeypairs;
}

/** Accounts, environments, users and admin grants, each change with its audit event. */
export class TenancyService {
  constructor(private readonly deps: TenancyServiceDeps) {}

  private get db(): Knex {
    return this.deps.db;
  }

  listAccounts(): Promise<Account[]> {
    return store.listAccounts(this.db);
  }

  findAccount(id: string): Promise<Account | undefined> {
    return store.findAccount(this.db, id);
  }

  findEnvironment(id: string): Promise<Environment | undefined> {
    return store.findEnvironment(this.db, id);
  }

  listEnvironments(accountId: string): Promise<Environment[]> {
    return store.listEnvironments(this.db, accountId);
  }

  async createAccount(actor: Actor, name: string): Promise<Account> {
    const now = this.deps.clock.now();
    const id = newId('account');
    await this.db.transaction(async (trx) => {
      await store.insertAccount(trx, { id, name }, now);
      await appendEvent(trx, actor, { action: 'account.created', targetType: 'account', targetId: id, accountId: id, environmentId: null, after: { name } }, now);
    });
    return (await this.findAccount(id))!;
  }

  async renameAccount(actor: Actor, id: string, name: string): Promise<Account> {
    const now = this.deps.clock.now();
    await this.db.transaction(async (trx) => {
      const account = await store.findAccount(trx, id, { forUpdate: true });
      if (!account) throw notFound('Account');
      if (account.status === 'closed') throw new KeygateError('conflict', 'The account is closed.');
      if (account.name === name) return;
      await store.renameAccountRow(trx, id, name, now);
      await appendEvent(trx, actor, { action: 'account.updated', targetType: 'account', targetId: id, accountId: id, environmentId: null, before: { name: account.name }, after: { name } }, now);
    });
    return (await this.findAccount(id))!;
  }

  async createEnvironment(actor: Actor, accountId: string, name: string): Promise<Environment> {
    const now = this.deps.clock.now();
    const id = newId('environment');
    await this.db.transaction(async (trx) => {
      const account = await store.findAccount(trx, accountId, { forUpdate: true });
      if (!account || account.status !== 'active') throw notFound('Account');
      await store.insertEnvironment(trx, { id, accountId, name }, now);
      await appendEvent(trx, actor, { action: 'environment.created', targetType: 'environment', targetId: id, accountId, environmentId: id, after: { name } }, now);
    });
    return (await this.findEnvironment(id))!;
  }

  async renameEnvironment(actor: Actor, id: string, name: string): Promise<Environment> {
    const now = this.deps.clock.now();
    await this.db.transaction(async (trx) => {
      const environment = await store.findEnvironment(trx, id, { forUpdate: true });
      if (!environment) throw notFound('Environment');
      if (environment.status === 'closed') throw new KeygateError('conflict', 'The environment is closed.');
      if (environment.name === name) return;
      await store.renameEnvironmentRow(trx, id, name, now);
      await appendEvent(trx, actor, { action: 'environment.updated', targetType: 'environment', targetId: id, accountId: environment.accountId, environmentId: id, before: { name: environment.name }, after: { name } }, now);
    });
    return (await this.findEnvironment(id))!;
  }

  /**
   * Closes an environment: its keypairs cease to exist (each deletion audited), its
   * admin grants lapse, and the row stays, closed, for the history.
   */
  async closeEnvironment(actor: Actor, id: string): Promise<void> {
    const now = this.deps.clock.now();
    await this.db.transaction(async (trx) => {
      const environment = await store.findEnvironment(trx, id, { forUpdate: true });
      if (!environment || environment.status === 'closed') throw notFound('Environment');
      const clientIds = await this.deps.keypairs.deleteWithOwner(trx, actor, { environmentId: id }, now);
      await store.closeEnvironmentRow(trx, id, now);
      await appendEvent(trx, actor, { action: 'environment.closed', targetType: 'environment', targetId: id, accountId: environment.accountId, environmentId: id, after: { deletedKeypairs: clientIds.length } }, now);
      await this.deps.changes.publish(trx, clientIds);
    });
  }

  /** Closes an account and every environment of it, deleting all their keypairs. */
  async closeAccount(actor: Actor, id: string): Promise<void> {
    const now = this.deps.clock.now();
    await this.db.transaction(async (trx) => {
      const account = await store.findAccount(trx, id, { forUpdate: true });
      if (!account || account.status === 'closed') throw notFound('Account');
      const clientIds = await this.deps.keypairs.deleteWithOwner(trx, actor, { accountId: id }, now);
      await store.closeAccountRow(trx, id, now);
      await appendEvent(trx, actor, { action: 'account.closed', targetType: 'account', targetId: id, accountId: id, environmentId: null, after: { deletedKeypairs: clientIds.length } }, now);
      await this.deps.changes.publish(trx, clientIds);
    });
  }

  listUsers(): Promise<User[]> {
    return users.listUsers(this.db);
  }

  findUser(id: string): Promise<User | undefined> {
    return users.findUser(this.db, id);
  }

  async createUser(actor: Actor, input: { email: string; name: string; isOperator: boolean }): Promise<User> {
    const now = this.deps.clock.now();
    const id = newId('user');
    await this.db.transaction(async (trx) => {
      if (await users.findUserByLowerEmail(trx, input.email)) throw new KeygateError('conflict', 'A user with this email exists.');
      // A concurrent create of the same email passes the check above too; the unique index decides (a 409 from the store).
      await users.insertUser(trx, { id, ...input }, now);
      await appendEvent(trx, actor, { action: 'user.created', targetType: 'user', targetId: id, accountId: null, environmentId: null, after: { email: input.email, name: input.name, isOperator: input.isOperator } }, now);
    });
    return (await this.findUser(id))!;
  }

  async updateUser(actor: Actor, id: string, input: { name?: string | undefined; isOperator?: boolean | undefined }): Promise<User> {
    const now = this.deps.clock.now();
    await this.db.transaction(async (trx) => {
      const before = await users.findUser(trx, id, { forUpdate: true });
      if (!before) throw notFound('User');
      const changes: { name?: string; isOperator?: boolean } = {};
      if (input.name !== undefined && input.name !== before.name) changes.name = input.name;
      if (input.isOperator !== undefined && input.isOperator !== before.isOperator) {
        if (!input.isOperator && actor.id === id) throw new KeygateError('conflict', 'Operators cannot remove their own operator role.');
        changes.isOperator = input.isOperator;
      }
      if (Object.keys(changes).length === 0) return;
      await users.updateUserRow(trx, id, changes, now);
      await appendEvent(trx, actor, {
        action: 'user.updated',
        targetType: 'user',
        targetId: id,
        accountId: null,
        environmentId: null,
        before: { ...(changes.name !== undefined && { name: before.name }), ...(changes.isOperator !== undefined && { isOperator: before.isOperator }) },
        after: { ...(changes.name !== undefined && { name: input.name }), ...(changes.isOperator !== undefined && { isOperator: input.isOperator }) },
      }, now);
    });
    return (await this.findUser(id))!;
  }

  membershipsOf(userId: string): Promise<Membership[]> {
    return users.membershipsOf(this.db, userId);
  }

  /**
   * Grants admin on an account or an environment; granting twice changes nothing. Returns
   * whether it was new. `reach: 'account'` (an account admin granting) accepts only users
   * of the scope's account (who already hold a grant on it or one of its environments):
   * anyone else is "User not found", exactly like an id that does not exist.
   */
  async grantAdmin(actor: Actor, userId: string, scope: AdminScope, reach: GrantReach = 'anyone'): Promise<boolean> {
    return this.db.transaction(async (trx) => {
      const user = await users.findUser(trx, userId);
      if (!user || (reach === 'account' && !(await users.isUserOfAccount(trx, userId, scope.accountId)))) throw notFound('User');
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
      let user = await users.findUserByFoldedEmail(trx, folded);
      if (!user) {
        const id = newId('user');
        // Not inserted: a concurrent invite of the same address created it first.
        if (await users.insertUserUnlessTaken(trx, { id, email: folded, name: '', isOperator: false }, now)) {
          await appendEvent(trx, actor, { action: 'user.created', targetType: 'user', targetId: id, accountId: null, environmentId: null, after: { email: folded, name: '', isOperator: false } }, now);
        }
        user = await users.findUserByFoldedEmail(trx, folded);
        // Only PostgreSQL's own lower() (the unique index) saw the two addresses as one.
        if (!user) throw new KeygateError('conflict', 'A user with an email that differs only in case exists.');
      }
      return { userId: user.id, created: await this.grantIn(trx, actor, user, scope) };
    }).catch(async (error: unknown) => {
      // A concurrent invite of the same address granted it first: granted, and not by this call.
      if (!isUniqueViolation(error)) throw error;
      const user = await users.findUserByFoldedEmail(this.db, folded);
      if (!user) throw error;
      return { userId: user.id, created: false };
    });
  }

  private async grantIn(trx: Knex.Transaction, actor: Actor, user: { id: string; email: string }, scope: AdminScope): Promise<boolean> {
    const now = this.deps.clock.now();
    if (await users.hasMembership(trx, user.id, scope)) return false;
    await users.insertMembership(trx, { id: newId('membership'), userId: user.id, scope }, now);
    const environmentId = 'environmentId' in scope ? scope.environmentId : null;
    await appendEvent(trx, actor, { action: 'membership.granted', targetType: 'user', targetId: user.id, accountId: scope.accountId, environmentId, after: { role: 'admin', email: user.email } }, now);
    return true;
  }

  async revokeAdmin(actor: Actor, userId: string, scope: AdminScope): Promise<void> {
    const now = this.deps.clock.now();
    await this.db.transaction(async (trx) => {
      if (!(await users.deleteMembership(trx, userId, scope))) throw notFound('Admin grant');
      const environmentId = 'environmentId' in scope ? scope.environmentId : null;
      await appendEvent(trx, actor, { action: 'membership.revoked', targetType: 'user', targetId: userId, accountId: scope.accountId, environmentId, before: { role: 'admin' } }, now);
    });
  }
}
