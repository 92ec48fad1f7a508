import type { GrantsInput } from './grants.js';
import type { KeypairOwner } from './owner_lock.js';
import type { Keypair } from './store.js';

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
}

/** A keypair with the secret that was just minted: the only time Keygate returns it. */
export interface KeypairWithSecret {
  readonly keypair: Keypair;
  readonly clientSecret: string;
}
