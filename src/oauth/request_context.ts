import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * What one token request learns on its way through oidc-provider that a later hook
 * needs: compareClientSecret finds which secret matched, extraTokenClaims puts that
 * secret's status-list index into the token. The hooks share no other per-request object.
 */
export interface TokenRequestContext {
  statusIdx?: number;
}

export const tokenRequestContext = new AsyncLocalStorage<TokenRequestContext>();
