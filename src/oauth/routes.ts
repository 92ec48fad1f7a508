import type { Context, Next } from 'koa';
import type { Config } from '../config/config.js';
import type { ResourceServerCatalog } from '../resource_servers/catalog.js';
import { ASSERTION_SIGNING_ALGS, DPOP_SIGNING_ALGS } from './algorithms.js';
import { MethodNotAllowed, renderOAuthError } from './errors.js';

/** Routes of oidc-provider that Keygate serves, with their methods; every other one stays unreachable. */
const PROVIDER_ROUTES = new Map([
  ['/token', ['POST']],
  ['/jwks', ['GET', 'HEAD']],
]);
const DISCOVERY_PATHS = new Set(['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server']);

/** A request oidc-provider answers itself: one of its routes, with a method it serves there. */
export function isProviderRequest(method: string | undefined, path: string): boolean {
  return PROVIDER_ROUTES.get(path)?.includes(method ?? '') === true;
}

/**
 * Authorization-server metadata (RFC 8414), served at both well-known paths. Written
 * here rather than taken from oidc-provider, whose document advertises the
 * authorization, userinfo and session endpoints that Keygate does not serve.
 */
export function serverMetadata(config: Config, catalog: ResourceServerCatalog): Record<string, unknown> {
  return {
    issuer: config.issuer,
    token_endpoint: `${config.issuer}/token`,
    jwks_uri: `${config.issuer}/jwks`,
    grant_types_supported: ['client_credentials'],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'private_key_jwt'],
    token_endpoint_auth_signing_alg_values_supported: ASSERTION_SIGNING_ALGS,
    dpop_signing_alg_values_supported: DPOP_SIGNING_ALGS,
    response_types_supported: [],
    // Scopes of servers limited to named accounts stay out of this public document.
    scopes_supported: [...new Set(catalog.all().filter((server) => server.availableTo === null).flatMap((server) => server.scopes.map((scope) => scope.name)))],
    access_token_signing_alg_values_supported: [config.tokenSigningAlg],
  };
}

/**
 * The OAuth routes Keygate's own app serves: discovery, and a 405 for oidc-provider's
 * paths with a method it does not serve there. A provider route with its right method
 * never gets here: the HTTP app hands it to oidc-provider directly.
 */
export function oauthRoutes(deps: { readonly config: Config; readonly catalog: ResourceServerCatalog }) {
  return async (ctx: Context, next: Next) => {
    if (ctx.method === 'GET' && DISCOVERY_PATHS.has(ctx.path)) {
      ctx.set('Cache-Control', 'public, max-age=300');
      ctx.body = serverMetadata(deps.config, deps.catalog);
      return;
    }
    const methods = PROVIDER_ROUTES.get(ctx.path);
    if (methods && !methods.includes(ctx.method)) return renderOAuthError(ctx, new MethodNotAllowed(ctx.path, methods));
    await next();
  };
}
