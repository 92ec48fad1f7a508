import { randomBytes } from 'node:crypto';
import Provider, { type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import type { Config } from '../config/config.js';
import type { ResourceServerCatalog } from '../resource_servers/catalog.js';
import type { ResourceServer } from '../resource_servers/store.js';
import type { Clock } from '../shared/clock.js';
import { providerJwks, signingKey, type KeySet } from '../signing/keystore.js';
import { isDatabaseUnavailable } from '../db/database.js';
import { StatelessAdapter } from './adapter.js';
import { ASSERTION_SIGNING_ALGS, DPOP_SIGNING_ALGS } from './algorithms.js';
import { DatabaseUnavailable } from './errors.js';
import type { ReplayStore } from './replay_store.js';
import { currentContext, type TokenRequests } from './token_request.js';

export interface ProviderDeps {
  readonly config: Config;
  readonly keySet: KeySet;
  readonly catalog: ResourceServerCatalog;
  /** Keygate's rules of a token request: every hook below is one call into it. */
  readonly tokenRequests: TokenRequests;
  /** JWT ids used once in every process: oidc-provider's DPoP proofs go here too. */
  readonly replays: ReplayStore;
  readonly clock: Clock;
}

/** Default token lifetime when a resource server names none: 300 (seconds). */
const DEFAULT_ACCESS_TOKEN_TTL = 300;

/** How far a DPoP proof's iat may be from now, either way: oidc-provider's fixed window. */
const DPOP_IAT_WINDOW_SECONDS = 300;

/**
 * oidc-provider configured for one job: the client-credentials grant, JWT access
 * tokens (RFC 9068) per resource server, clients from Keygate's keypairs.
 */
export function buildProvider(deps: ProviderDeps): Provider {
  const { config, catalog, keySet, tokenRequests } = deps;
  // Checked against the key set on start: a set without a key of the alg fails here.
  signingKey(keySet, config.tokenSigningAlg);

  const configuration: Configuration = {
    adapter: StatelessAdapter,
    jwks: providerJwks(keySet) as Configuration['jwks'],
    // private_key_jwt is checked by Keygate (client_assertion.ts), not by oidc-provider: listed for discovery.
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'private_key_jwt'],
    enabledJWA: {
      clientAuthSigningAlgValues: ASSERTION_SIGNING_ALGS,
      dPoPSigningAlgValues: DPOP_SIGNING_ALGS,
    } as Configuration['enabledJWA'],
    clientDefaults: {
      grant_types: ['client_credentials'],
      response_types: [],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: config.tokenSigningAlg,
    },
    responseTypes: ['none'],
    // No offline_access: oidc-provider would enable the refresh_token grant with it.
    scopes: [],
    // The cookie keys only sign cookies of flows Keygate does not serve; random is fine.
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    routes: { token: '/token', jwks: '/jwks' },
    features: {
      clientCredentials: { enabled: true },
      devInteractions: { enabled: false },
      introspection: { enabled: false },
      revocation: { enabled: false },
      userinfo: { enabled: false },
      rpInitiatedLogout: { enabled: false },
      // A valid DPoP proof binds the token to its key (cnf.jkt, token_type DPoP); each
      // proof's jti is spent in Keygate's replay store (ReplayDetection, below). No nonce:
      // RFC 9449 leaves it optional, and the proof's iat must be within 5 minutes.
      dPoP: { enabled: true },
      resourceIndicators: {
        enabled: true,
        // No `resource` parameter: the default resource server.
        defaultResource: () => catalog.defaultServer?.identifier ?? config.defaultResource,
        useGrantedResource: () => true,
        // Hook: step 4 of the token request, the grant (resource server and scopes).
        getResourceServerInfo: (ctx, resourceIndicator, client) => resourceServerInfo(tokenRequests.grant(ctx, resourceIndicator, client)),
      },
    },
    // Hook: step 4 of the token request, the token's claims.
    extraTokenClaims: (ctx) => tokenRequests.claims(ctx),
    ttl: {
      ClientCredentials: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? DEFAULT_ACCESS_TOKEN_TTL,
    },
  };

  const provider = new Provider(config.issuer, configuration);
  // Hook: step 1, find the keypair (replacing the adapter lookup and its 100-client LRU; see clients.ts).
  provider.Client.find = (id: string) => tokenRequests.findKeypair(currentContext(), provider, id);
  // Hook: steps 2 and 3, check the credential and the guards (oidc-provider does not hand this one the context).
  provider.Client.prototype.compareClientSecret = function compareClientSecret(presented: string) {
    return Promise.resolve(tokenRequests.checkCredential(currentContext(), this, presented));
  };
  // Hook: step 0, a client assertion is set aside before oidc-provider reads the body.
  setAsideClientAssertions(provider, tokenRequests);
  // oidc-provider's replay checks (DPoP proofs) go to the database, seen by every process,
  // instead of its adapter (which the stateless adapter refuses). Its own namespace: a
  // client's DPoP proof and client assertion may not share a jti by accident.
  // oidc-provider asks for now + 300 s, yet takes a proof whose iat is up to 300 s ahead,
  // which stays acceptable until iat + 300 s: the id is kept that much longer.
  provider.ReplayDetection.unique = (issuer: string, jti: string, exp: number) =>
    deps.replays.firstUse(`oidc-provider:${issuer}`, jti, new Date((exp + DPOP_IAT_WINDOW_SECONDS) * 1000)).catch((error: unknown) => {
      // A database that cannot answer is a 503 to retry, as when the keypair cannot be read.
      throw isDatabaseUnavailable(error) ? new DatabaseUnavailable(error) : error;
    });
  // Hook: step 5, record; and 6, respond.
  tokenRequests.listenTo(provider);
  provider.use(tokenRequests.respond);
  return provider;

  /** What oidc-provider needs of the resource server a token is for. */
  function resourceServerInfo(server: ResourceServer) {
    return {
      audience: server.identifier,
      scope: [...new Set(server.scopes.map((scope) => scope.name))].join(' '),
      accessTokenTTL: server.accessTokenTtl || DEFAULT_ACCESS_TOKEN_TTL,
      accessTokenFormat: 'jwt' as const,
      // Chosen per token: a rotated key starts signing once its activation time comes.
      jwt: { sign: { alg: config.tokenSigningAlg, kid: signingKey(keySet, config.tokenSigningAlg, Math.floor(deps.clock.now().getTime() / 1000)).kid } },
    };
  }
}

/**
 * oidc-provider parses the token request's body into `ctx.oidc.body` and reads its
 * parameters from there. An accessor on its context's prototype sees each body as it is
 * set, and stores what TokenRequests.acceptClientAssertion makes of it: the one place
 * Keygate sees the body before oidc-provider's client authentication does.
 */
function setAsideClientAssertions(provider: Provider, tokenRequests: TokenRequests): void {
  const BODY = Symbol('keygate.body');
  type Context = { ctx: KoaContextWithOIDC; route: string; [BODY]?: unknown };
  Object.defineProperty(provider.OIDCContext.prototype, 'body', {
    configurable: true,
    get(this: Context) {
      return this[BODY];
    },
    set(this: Context, body: unknown) {
      const isTokenForm = this.route === 'token' && typeof body === 'object' && body !== null;
      this[BODY] = isTokenForm ? tokenRequests.acceptClientAssertion(this.ctx, body as Record<string, unknown>) : body;
    },
  });
}
