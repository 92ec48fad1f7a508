import type { Actor } from '../audit/store.js';

/** An authenticated admin API caller, with every grant it holds. */
export interface Principal {
  readonly userId: string;
  readonly email: string;
  readonly name: string;
  readonly isOperator: boolean;
  /** Accounts the caller administers (and so every environment of them). */
  readonly accountAdminOf: ReadonlySet<string>;
  /** Environments the caller administers directly, to their account ids. */
  readonly environmentAdminOf: ReadonlyMap<string, string>;
}

export function actorOf(principal: Principal, request: { ip?: string; userAgent?: string }): Actor {
  return { type: principal.isOperator ? 'operator' : 'user', id: principal.userId, ip: request.ip, userAgent: request.userAgent };
}
