import { randomBytes } from 'node:crypto';
import Provider, { errors, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import type { Config } from '../config/config.js';
import type { LastUsedRecorder } from '../keypairs/last_used.js';
import type { ResourceServerCatalog } from '../resource_servers/catalog.js';
import { isAvailableTo } from '../resource_servers/store.js';
import type { Clock } from '../shared/clock.js';
import type { Logger } from '../shared/log.js';
import { providerJwks, signingKey, type KeySet } from '../signing/keystore.js';
import { StatelessAdapter } from './adapter.js';
import { statusReference } from '../status/status_list.js';
import type { UsageRecorder } from '../usage/recorder.js';
import { ClientCache } from './clients.js';
import type { TokenGuards } from './guards.js';
import { tokenRequestContext } from './request_context.js';

export interface ProviderDeps {
  readonly config: Config;
  readonly keySet: KeySet;
  readonly catalog: ResourceServerCatalog;
  readonly clients: ClientCache;
  readonly lastUsed: LastUsedRecorder;
  readonly guards: TokenGuards;
  /** The usage log; undefined with USAGE_LOG=off. */
  readonly usage: UsageRecorder | undefined;
  readonly clock: Clock;
  readonly log: Logger;
}

/** Default token lifetime when a resource server names none: 300 (seconds). */
const DEFAULT_ACCESS_TOKEN_TTL = 300;

function requestedScopes(ctx: KoaContextWithOIDC): string[] {
  const raw = ctx.oidc.params?.scope;
  return typeof raw === 'string' && raw.trim() ? raw.trim().split(/\s+/) : [];
}

/**
 * oidc-provider configured for one job: the client-credentials grant, JWT access
 * tokens (RFC 9068) per resource server, clients from Keygate's keypairs.
 */
export function buildProvider(deps: ProviderDeps): Provider {
  const { config, catalog, clients, keySet } = deps;
  // Checked against the key set on start: a set without a key of the alg fails here.
  signingKey(keySet, config.tokenSigningAlg);

  const configuration: Configuration = {
    adapter: StatelessAdapter,
    jwks: providerJwks(keySet) as Configuration['jwks'],
    clientAuthMethods: ['client_secret_basic', 'client_secret_post'],
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
      // No sender-constrained tokens yet: a DPoP header is ignored, as RFC 9449 lets a
      // server without DPoP do, and the answer is a Bearer token. (Enabled, it checked
      // each proof's jti in the replay store, which the stateless adapter refuses: a 500.)
      dPoP: { enabled: false },
      resourceIndicators: {
        enabled: true,
        // No `resource` parameter: the default resource server.
        defaultResource: () => catalog.defaultServer?.identifier ?? config.defaultResource,
        useGrantedResource: () => true,
        getResourceServerInfo: (ctx, resourceIndicator, client) => {
          const server = catalog.byIdentifier(resourceIndicator);
          const credentials = ClientCache.credentialsOf(client);
          // A server limited to other accounts reads, to this keypair, as one that does not exist.
          if (!server || !credentials || !isAvailableTo(server, credentials.accountId)) throw new errors.InvalidTarget('unknown resource server');
          // Only what is granted at this server, and still in its catalogue: scopes are per resource server.
          const catalogue = new Set(server.scopes.map((scope) => scope.name));
          const held = (credentials.grants.get(server.id) ?? []).filter((scope) => catalogue.has(scope));
          if (held.length === 0) throw new errors.InvalidTarget('the keypair has no grant at this resource server');

          // oidc-provider would drop unknown scopes silently and grant no scope when
          // none is asked for; Keygate's contract refuses the first and grants all the
          // keypair holds here for the second.
          const requested = requestedScopes(ctx);
          const refused = requested.find((scope) => !held.includes(scope));
          if (refused !== undefined) throw new errors.InvalidScope('requested scope is not allowed', refused);
          if (requested.length === 0) ctx.oidc.params!.scope = held.join(' ');

          return {
            audience: server.identifier,
            scope: [...catalogue].join(' '),
            accessTokenTTL: server.accessTokenTtl || DEFAULT_ACCESS_TOKEN_TTL,
            accessTokenFormat: 'jwt',
            // Chosen per token: a rotated key starts signing once its activation time comes.
            jwt: { sign: { alg: config.tokenSigningAlg, kid: signingKey(keySet, config.tokenSigningAlg, Math.floor(deps.clock.now().getTime() / 1000)).kid } },
          };
        },
      },
    },
    extraTokenClaims: (ctx) => {
      const credentials = ClientCache.credentialsOf(ctx.oidc.client);
      if (!credentials) return undefined;
      // The index of the secret that authenticated this request (see request_context.ts).
      const statusIdx = tokenRequestContext.getStore()?.statusIdx;
      return {
        account_id: credentials.accountId,
        ...(credentials.environmentId !== null && { environment_id: credentials.environmentId }),
        ...(statusIdx !== undefined && { status: { status_list: statusReference(config.issuer, statusIdx) } }),
      };
    },
    ttl: {
      ClientCredentials: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? DEFAULT_ACCESS_TOKEN_TTL,
    },
  };

  const provider = new Provider(config.issuer, configuration);
  clients.install(provider, deps.guards);
  provider.on('grant.success', (ctx: KoaContextWithOIDC) => {
    const clientId = ctx.oidc.client?.clientId;
    if (clientId) deps.lastUsed.record(clientId, deps.clock.now());
    recordUsage(deps, ctx, undefined);
  });
  provider.on('grant.error', (ctx: KoaContextWithOIDC, error: { error?: string }) => {
    const retryAfter = tokenRequestContext.getStore()?.retryAfterSeconds;
    if (retryAfter !== undefined) ctx.set('Retry-After', String(retryAfter));
    recordUsage(deps, ctx, error.error ?? 'server_error');
  });
  return provider;
}

/** Longest user agent, scope and resource the usage log keeps: 200 characters (the rest is cut). */
const MAX_RECORDED_LENGTH = 200;

/**
 * A client-sent value as the usage log keeps it: cut to length, and with NUL replaced,
 * which PostgreSQL text cannot hold (one such value would otherwise fail its whole batch).
 */
function recorded(value: unknown): string | null {
  const text = Array.isArray(value) ? value.join(' ') : value;
  return typeof text === 'string' && text !== '' ? text.slice(0, MAX_RECORDED_LENGTH).replaceAll('\u0000', '\uFFFD') : null;
}

/** One usage record for a token request that named a known keypair; `error` undefined when issued. */
function recordUsage(deps: ProviderDeps, ctx: KoaContextWithOIDC, error: string | undefined): void {
  const request = tokenRequestContext.getStore();
  if (!deps.usage || request?.clientId === undefined) return;
  const params = ctx.oidc?.params;
  deps.usage.record({
    at: deps.clock.now(),
    clientId: request.clientId,
    outcome: error === undefined ? 'issued' : 'refused',
    error: error ?? null,
    reason: error === undefined ? null : (request.refusal ?? error),
    credentialed: error === undefined || request.credentialed === true,
    // For an issued token that asked for no scope, the scopes it was given.
    scope: recorded(params?.scope),
    resource: recorded(params?.resource) ?? deps.catalog.defaultServer?.identifier ?? null,
    ip: request.ip ?? null,
    userAgent: recorded(ctx.get('user-agent')),
  });
}
