import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * What one token request learns on its way through oidc-provider that a later hook
 * needs: compareClientSecret finds which secret matched, extraTokenClaims puts that
 * secret's status-list index into the token, and the usage log records who asked,
 * from where, and why a refusal happened. The hooks share no other per-request object.
 */
export interface TokenRequestContext {
  /** The client's address (see shared/client_address.ts), set before oidc-provider runs. */
  ip?: string | undefined;
  /** The keypair the request named, when there is one (enabled or not). */
  clientId?: string;
  /** Why Keygate refused the request, where that is finer than the OAuth error. */
  refusal?: RefusalReason;
  /** The request presented a live secret of the keypair (current, or still in its grace period). */
  credentialed?: boolean;
  /** Status-list index of the secret that authenticated the request. */
  statusIdx?: number;
  /** Set with a `rate_limited` refusal: the Retry-After the response carries. */
  retryAfterSeconds?: number;
}

export type RefusalReason = 'keypair_disabled' | 'keypair_expired' | 'secret_mismatch' | 'secret_retired' | 'ip_not_allowed' | 'rate_limited';

export const tokenRequestContext = new AsyncLocalStorage<TokenRequestContext>();
