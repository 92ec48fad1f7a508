import { errors } from 'oidc-provider';
import { IpAllowlist } from '../keypairs/ip_allowlist.js';
import type { KeypairCredentials } from '../keypairs/store.js';
import type { Clock } from '../shared/clock.js';
import type { RateLimiter } from './rate_limit.js';
import type { TokenRequestContext } from './request_context.js';

/**
 * The per-keypair checks a request passes once its secret is known to be right:
 * the IP allowlist, then the rate limit. They come after the secret so that only
 * the keypair's holder can use up its rate limit: a stranger guessing secrets is
 * refused as `secret_mismatch` and counts against nothing.
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

  /**
   * false when the request's address is not allowed; throws a 429 error when the
   * keypair is over its rate limit; true otherwise. Notes the refusal in `request`.
   */
  admit(credentials: KeypairCredentials, request: TokenRequestContext | undefined): boolean {
    if (credentials.allowedIps.length > 0 && !this.#allowlistOf(credentials).allows(request?.ip)) {
      if (request) request.refusal = 'ip_not_allowed';
      return false;
    }
    const limit = credentials.rateLimitPerMinute ?? this.defaultLimitPerMinute;
    if (limit > 0) {
      const decision = this.limiter.take(credentials.clientId, limit, this.clock.now().getTime());
      if (!decision.allowed) {
        if (request) Object.assign(request, { refusal: 'rate_limited', retryAfterSeconds: decision.retryAfterSeconds });
        throw rateLimited(limit);
      }
    }
    return true;
  }

  #allowlistOf(credentials: KeypairCredentials): IpAllowlist {
    let allowlist = this.#allowlists.get(credentials);
    if (!allowlist) this.#allowlists.set(credentials, (allowlist = new IpAllowlist(credentials.allowedIps)));
    return allowlist;
  }
}

/** 429 with an RFC 6749-style body; the Retry-After header is set where the error is rendered. */
function rateLimited(limit: number): Error {
  const error = new errors.CustomOIDCProviderError('rate_limited', `this keypair may request ${limit} tokens per minute; retry after the time in Retry-After`);
  return Object.assign(error, { status: 429, statusCode: 429 });
}
