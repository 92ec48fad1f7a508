import type { AuditHistory } from '../audit/query.js';
import type { KeypairService } from '../keypairs/service.js';
import type { Keypair } from '../keypairs/store.js';
import { KeygateError, notFound } from '../shared/errors.js';
import type { Account, Environment, TenancyService } from '../tenancy/service.js';
import { canManageKeypairsOf, canSeeAccount, canSeeEnvironment, type KeypairOwnerRef } from './policy.js';
import type { Principal } from './principal.js';

/**
 * What a caller reaches, for the admin API and the console alike: each method answers
 * the object or throws NotFound, since what the caller cannot see does not exist for it
 * (policy.ts decides who sees what). Only "missing" becomes NotFound: a database that
 * does not answer stays an error, so it reaches the caller as a 503, never as a 404.
 */
export class Reach {
  constructor(
    private readonly deps: {
      readonly tenancy: Pick<TenancyService, 'findAccount' | 'findEnvironment' | 'listAccounts' | 'listEnvironments'>;
      readonly keypairs: Pick<KeypairService, 'getKeypair'>;
      readonly history: Pick<AuditHistory, 'list'>;
    },
  ) {}

  /** The keypair, if the caller may manage it. */
  async keypair(principal: Principal, clientId: string): Promise<Keypair> {
    const keypair = await this.existingKeypair(clientId);
    requireVisible(keypair !== undefined && canManageKeypairsOf(principal, keypair), 'Keypair');
    return keypair!;
  }

  /** The owner of a keypair's history, if the caller may manage it: a deleted keypair's history stays readable. */
  async keypairHistory(principal: Principal, clientId: string): Promise<KeypairOwnerRef> {
    const owner = (await this.existingKeypair(clientId)) ?? (await this.ownerFromHistory(clientId));
    requireVisible(owner !== undefined && canManageKeypairsOf(principal, owner), 'Keypair');
    return owner!;
  }

  /** An active account whose own (account-level) keypairs the caller manages. */
  async keypairAccount(principal: Principal, accountId: string): Promise<Account> {
    const account = await this.deps.tenancy.findAccount(accountId);
    requireVisible(account?.status === 'active' && canManageKeypairsOf(principal, { accountId: account.id, environmentId: null }), 'Account');
    return account!;
  }

  /** An active environment of an active account, whose keypairs the caller manages. */
  async keypairEnvironment(principal: Principal, environmentId: string): Promise<{ environment: Environment; account: Account }> {
    const { environment, account } = await this.activeEnvironment(environmentId);
    requireVisible(environment !== undefined && canManageKeypairsOf(principal, { accountId: environment.accountId, environmentId: environment.id }), 'Environment');
    return { environment: environment!, account: account! };
  }

  /** An active account the caller sees. */
  async account(principal: Principal, accountId: string): Promise<Account> {
    const account = await this.deps.tenancy.findAccount(accountId);
    requireVisible(account?.status === 'active' && canSeeAccount(principal, account.id), 'Account');
    return account!;
  }

  /** An active environment of an active account, that the caller sees. */
  async environment(principal: Principal, environmentId: string): Promise<Environment> {
    const { environment } = await this.activeEnvironment(environmentId);
    requireVisible(environment !== undefined && canSeeEnvironment(principal, environment), 'Environment');
    return environment!;
  }

  /** Every active account the caller works in, with the environments whose keypairs it manages: the console's navigation. */
  async accountsOf(principal: Principal): Promise<ReachedAccount[]> {
    const accountIds = principal.isOperator
      ? (await this.deps.tenancy.listAccounts()).filter((account) => account.status === 'active').map((account) => account.id)
      : [...accountsReachedBy(principal)!];
    const reached: ReachedAccount[] = [];
    for (const accountId of accountIds) {
      const account = await this.deps.tenancy.findAccount(accountId);
      if (!account || account.status !== 'active') continue;
      const environments = (await this.deps.tenancy.listEnvironments(accountId)).filter(
        (environment) => environment.status === 'active' && canManageKeypairsOf(principal, { accountId, environmentId: environment.id }),
      );
      reached.push({ account, canOpenAccount: canSeeAccount(principal, accountId), environments });
    }
    return reached;
  }

  private async existingKeypair(clientId: string): Promise<Keypair | undefined> {
    try {
      return await this.deps.keypairs.getKeypair(clientId);
    } catch (error) {
      if (error instanceof KeygateError && error.code === 'not_found') return undefined;
      throw error;
    }
  }

  private async activeEnvironment(environmentId: string): Promise<{ environment?: Environment; account?: Account }> {
    const environment = await this.deps.tenancy.findEnvironment(environmentId);
    const account = environment && (await this.deps.tenancy.findAccount(environment.accountId));
    return environment?.status === 'active' && account?.status === 'active' ? { environment, account } : {};
  }

  private async ownerFromHistory(clientId: string): Promise<KeypairOwnerRef | undefined> {
    const [created] = await this.deps.history.list({ targetId: clientId, action: 'keypair.created' }, { limit: 1 });
    return created?.accountId ? { accountId: created.accountId, environmentId: created.environmentId } : undefined;
  }
}

/** An account the caller works in, as navigation lists it. */
export interface ReachedAccount {
  readonly account: Account;
  /** Account admins and operators open the account itself (its own keypairs, its history). */
  readonly canOpenAccount: boolean;
  readonly environments: readonly Environment[];
}

/** The accounts a caller administers in, directly or through an environment; undefined for an operator, who reaches every account. */
export function accountsReachedBy(principal: Principal): ReadonlySet<string> | undefined {
  if (principal.isOperator) return undefined;
  return new Set([...principal.accountAdminOf, ...principal.environmentAdminOf.values()]);
}

/** 404 unless `allowed`: what the caller cannot see does not exist for it. */
export function requireVisible(allowed: boolean, what: string): void {
  if (!allowed) throw notFound(what);
}

/** 403: the caller sees the object but may not do this to it. */
export function requireAllowed(allowed: boolean, action: string): void {
  if (!allowed) throw new KeygateError('forbidden', `You may not ${action}.`);
}
