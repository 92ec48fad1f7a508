import type { IncomingMessage } from 'node:http';
import type { Actor } from '../audit/store.js';
import { clientAddress } from '../shared/client_address.js';

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

/** The request an actor comes from (a Koa context is one). */
export interface ActorRequest {
  readonly req: IncomingMessage;
  get(field: string): string;
}

/**
 * The caller as the audit trail records it, for the admin API and the console alike:
 * the client address the way the token endpoint reads it (TRUST_PROXY hops), and the
 * user agent.
 */
export function actorOf(principal: Principal, request: ActorRequest, trustProxyHops: number): Actor {
  return {
    type: principal.isOperator ? 'operator' : 'user',
    id: principal.userId,
    ip: clientAddress(request.req, trustProxyHops),
    userAgent: request.get('User-Agent') || undefined,
  };
}
