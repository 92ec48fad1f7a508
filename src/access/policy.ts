import type { Principal } from './principal.js';

/**
 * Who may touch what: the one copy of the rule, used by every admin route.
 *
 * - Operators manage everything.
 * - An account admin manages the account's keypairs and every environment of it
 *   (its keypairs and its admins), and sees the account.
 * - An environment admin manages that environment's keypairs only.
 *
 * "sees" decides 404 versus 403: an object the caller cannot see is reported as
 * missing, never as forbidden.
 */
export interface KeypairOwnerRef {
  readonly accountId: string;
  readonly environmentId: string | null;
}

export function canSeeAccount(principal: Principal, accountId: string): boolean {
  return principal.isOperator || principal.accountAdminOf.has(accountId);
}

/** Rename, close, grant account admins: operators only. */
export function canManageAccount(principal: Principal, _accountId: string): boolean {
  return principal.isOperator;
}

export function canSeeEnvironment(principal: Principal, environment: { id: string; accountId: string }): boolean {
  return canSeeAccount(principal, environment.accountId) || principal.environmentAdminOf.has(environment.id);
}

/** Rename, close, grant environment admins. */
export function canManageEnvironment(principal: Principal, environment: { id: string; accountId: string }): boolean {
  return canSeeAccount(principal, environment.accountId);
}

/** Create, read, change, rotate, delete the keypairs of an owner (and read their history). */
export function canManageKeypairsOf(principal: Principal, owner: KeypairOwnerRef): boolean {
  if (canSeeAccount(principal, owner.accountId)) return true;
  return owner.environmentId !== null && principal.environmentAdminOf.has(owner.environmentId);
}

/** Accounts, users, resource servers (writing), account admins. */
export function isOperator(principal: Principal): boolean {
  return principal.isOperator;
}
