import { IpAllowlist } from '../keypairs/ip_allowlist.js';
import type { KeypairCredentials } from '../keypairs/store.js';
import type { Clock } from '../shared/clock.js';
import { InvalidClient, RateLimited } from './errors.js';
import type { RateLimiter } from './rate_limit.js';

/**
 * The per-keypair checks of a token request, each throwing the refusal it stands for.
 *
 * `usable` (enabled, not expired) runs as soon as the keypair is found, before its
 * secret is looked at: a request to a disabled keypair presented no usable credential,
 * whatever secret it sent. `admit` (IP allowlist, then rate limit) runs once the secret
 * is known to be right, so that only the keypair's holder can use up its rate limit:
 * a stranger guessing secrets is refused as `secret_mismatch` and counts against nothing.
 */
export class TokenGuards {
  /** Allowlists built once per loaded keypair (a keypair's credentials object is replaced when it changes). */
  readonly #allowlists = new WeakMap<KeypairCredentials, IpAllowlist>();

  constructor(
    private readonly limiter: RateLimiter,
    /** RATE_LIMIT_PER_MINUTE; 0: no limit for keypairs that set none. */
    private readonly defaultLimitPerMinute: number,
    private readonly clock: Clock,
  ) {}

  /** Throws when the keypair is disabled or past its expiry. */
  usable(credentials: KeypairCredentials): void {
    if (!credentials.enabled) throw new InvalidClient('keypair_disabled');
    if (credentials.expiresAt && credentials.expiresAt.getTime() <= this.clock.now().getTime()) throw new InvalidClient('keypair_expired');
  }

  /** Throws when the address is not on the keypair's allowlist, or the keypair is over its rate limit (counting this request otherwise). */
  admit(credentials: KeypairCredentials, ip: string | undefined): void {
    if (credentials.allowedIps.length > 0 && !this.#allowlistOf(credentials).allows(ip)) throw new InvalidClient('ip_not_allowed');
    const limit = credentials.rateLimitPerMinute ?? this.defaultLimitPerMinute;
    if (limit > 0) {
      const decision = this.limiter.take(credentials.clientId, limit, this.clock.now().getTime());
      if (!decision.allowed) throw new RateLimited(limit, decision.retryAfterSeconds);
    }
  }

  #allowlistOf(credentials: KeypairCredentials): IpAllowlist {
    let allowlist = this.#allowlists.get(credentials);
    if (!allowlist) this.#allowlists.set(credentials, (allowlist = new IpAllowlist(credentials.allowedIps)));
    return allowlist;
  }
}
