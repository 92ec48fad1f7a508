import { createLocalJWKSet, createRemoteJWKSet, type JWTVerifyGetKey } from 'jose';
import { isLoopbackHost } from '../shared/jwk.js';
import type { Federation } from '../keypairs/credentials_store.js';

/** A fetched key set is refetched for an unknown `kid` at most this often: a stream of bad tokens cannot make Keygate hammer an issuer. */
const REFETCH_COOLDOWN_MS = 30_000;

/** Keys are refetched at least this often anyway: an issuer's rotation reaches Keygate within it. */
const KEYS_MAX_AGE_MS = 600_000;

/** Trusted issuers are few; past this many distinct configurations the cache starts over. */
const MAX_CACHED = 256;

/**
 * The signing keys of trusted issuers, for verifying their tokens: inline keys as they
 * are, a `jwksUri` fetched (jose's remote key set: cached, refetched on an unknown `kid`
 * at most once per 30 s, each fetch bounded by a time-out), and otherwise the jwks_uri
 * of the issuer's `/.well-known/openid-configuration`, found on first use.
 *
 * Keyed by what the configuration says, so an edit of a trusted issuer (which reloads
 * the keypairs that use it) starts from its new keys.
 */
export class IssuerKeys {
  readonly #keySets = new Map<string, JWTVerifyGetKey>();

  constructor(private readonly options: { timeoutMs: number }) {}

  of(federation: Federation): JWTVerifyGetKey {
    const key = JSON.stringify([federation.issuer, federation.jwksUri, federation.jwks]);
    let keySet = this.#keySets.get(key);
    if (!keySet) {
      if (this.#keySets.size >= MAX_CACHED) this.#keySets.clear();
      this.#keySets.set(key, (keySet = this.#build(federation)));
    }
    return keySet;
  }

  #build(federation: Federation): JWTVerifyGetKey {
    if (federation.jwks) return createLocalJWKSet({ keys: [...federation.jwks.keys] });
    if (federation.jwksUri) return this.#remote(federation.jwksUri);
    return this.#discovered(federation.issuer);
  }

  #remote(uri: string): JWTVerifyGetKey {
    return createRemoteJWKSet(new URL(uri), { timeoutDuration: this.options.timeoutMs, cooldownDuration: REFETCH_COOLDOWN_MS, cacheMaxAge: KEYS_MAX_AGE_MS });
  }

  /** The key set at the jwks_uri the issuer's discovery document names; a failed look-up is tried again on the next token. */
  #discovered(issuer: string): JWTVerifyGetKey {
    let keySet: Promise<JWTVerifyGetKey> | undefined;
    return async (header, token) => {
      keySet ??= this.#discover(issuer).catch((error: unknown) => {
        keySet = undefined;
        throw error;
      });
      return (await keySet)(header, token);
    };
  }

  async #discover(issuer: string): Promise<JWTVerifyGetKey> {
    const url = `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
    const response = await fetch(url, { signal: AbortSignal.timeout(this.options.timeoutMs), redirect: 'error' });
    if (!response.ok) throw new Error(`${url} answered ${response.status}`);
    const document = (await response.json()) as { jwks_uri?: unknown };
    if (typeof document.jwks_uri !== 'string' || !isAllowedKeyUrl(document.jwks_uri)) throw new Error(`${url} names no https jwks_uri`);
    return this.#remote(document.jwks_uri);
  }
}

/** https, or http on a loopback address (a cluster's issuer reached through a local proxy, tests). */
function isAllowedKeyUrl(value: string): boolean {
  const url = URL.parse(value);
  if (!url) return false;
  if (url.protocol === 'https:') return true;
  return url.protocol === 'http:' && isLoopbackHost(url.hostname);
}
