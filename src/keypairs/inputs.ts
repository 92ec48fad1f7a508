import type { GrantsInput } from './grants.js';
import type { KeypairOwner } from './owner_lock.js';
import type { PublicJwk } from './public_keys.js';
import type { Keypair } from './store.js';

/** The credential of a keypair with no secret: its client's public keys, or a trusted issuer's tokens. */
export type KeylessCredentialInput =
  | { readonly publicKeys: readonly PublicJwk[]; readonly federation?: undefined }
  | { readonly federation: { readonly issuer: string; readonly subject: string; readonly claims?: Readonly<Record<string, string>> | undefined }; readonly publicKeys?: undefined };

export interface CreateKeypairInput extends GrantsInput {
  readonly owner: KeypairOwner;
  readonly name: string;
  readonly comment?: string | undefined;
  /** null or absent: never expires. */
  readonly expiresAt?: Date | null | undefined;
  /** null or absent: the server default (RATE_LIMIT_PER_MINUTE). */
  readonly rateLimitPerMinute?: number | null | undefined;
  /** Canonical entries (ip_allowlist.ts); empty or absent: anywhere. */
  readonly allowedIps?: readonly string[] | undefined;
  /** null or absent: the server default (AUTO_DISABLE_DEFAULT). */
  readonly autoDisable?: boolean | null | undefined;
  /** Tokens only with a DPoP proof; absent: false. */
  readonly requireDpop?: boolean | undefined;
  /** Absent: a secret keypair (createKeypair); given: createKeylessKeypair. */
  readonly credential?: KeylessCredentialInput | undefined;
}

/**
 * `grants` replaces every grant; `scopes` alone replaces only the grant at the
 * default resource server.
 */
export interface UpdateKeypairInput extends GrantsInput {
  readonly name?: string | undefined;
  readonly comment?: string | undefined;
  readonly rateLimitPerMinute?: number | null | undefined;
  readonly allowedIps?: readonly string[] | undefined;
  readonly autoDisable?: boolean | null | undefined;
  readonly enabled?: boolean | undefined;
  /** Kept with a disable; ignored otherwise. */
  readonly disabledReason?: string | undefined;
  /** Replaces the keys of a public_key keypair (409 on another type). */
  readonly publicKeys?: readonly PublicJwk[] | undefined;
  /** A federated keypair's subject and required claims (409 on another type); `claims` replaces them all. */
  readonly federation?: { readonly subject?: string | undefined; readonly claims?: Readonly<Record<string, string>> | undefined } | undefined;
  readonly requireDpop?: boolean | undefined;
}

/** A keypair with the secret that was just minted: the only time Keygate returns it. */
export interface KeypairWithSecret {
  readonly keypair: Keypair;
  readonly clientSecret: string;
}
