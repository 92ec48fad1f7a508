import Router from '@koa/router';
import type { Context } from 'koa';
import { isOperator } from '../access/policy.js';
import type { Principal } from '../access/principal.js';
import { requireAllowed } from '../access/reach.js';
import { TrustedIssuerCreateSchema, TrustedIssuerUpdateSchema, type TrustedIssuerView } from '../contract/trusted_issuers.js';
import { validate } from '../contract/validate.js';
import type { KeypairReach, TrustedIssuer, TrustedIssuerService } from '../federation/service.js';
import { readJsonBody } from './body.js';
import { actorFor, expectedVersion, principalOf, setVersionTag } from './context.js';

export const trustedIssuerView = (issuer: TrustedIssuer): TrustedIssuerView => ({
  id: issuer.id,
  issuer: issuer.issuer,
  name: issuer.name,
  jwksUri: issuer.jwksUri,
  jwks: issuer.jwks === null ? null : { keys: issuer.jwks.keys.map((key) => ({ ...key })) },
  audience: issuer.audience,
  keypairCount: issuer.keypairCount,
  createdAt: issuer.createdAt.toISOString(),
  updatedAt: issuer.updatedAt.toISOString(),
  version: issuer.version,
});

/**
 * The keypairs a reader's `keypairCount` counts: an operator every one, an admin those it
 * manages (others belong to other tenants, whose use of an issuer is theirs to know).
 */
function reachOf(principal: Principal): KeypairReach | undefined {
  if (principal.isOperator) return undefined;
  return { accountIds: [...principal.accountAdminOf], environmentIds: [...principal.environmentAdminOf.keys()] };
}

/**
 * Operators manage trusted issuers. Every admin may read them, as it reads the resource
 * servers: an admin creating a federated keypair needs the issuers it may name.
 */
export function trustedIssuerRoutes(deps: { trustedIssuers: TrustedIssuerService }): Router {
  const router = new Router();
  const { trustedIssuers } = deps;
  const requireOperator = (ctx: Context, action: string) => requireAllowed(isOperator(principalOf(ctx)), action);

  router.get('/trusted-issuers', async (ctx) => {
    ctx.body = { data: (await trustedIssuers.list(reachOf(principalOf(ctx)))).map(trustedIssuerView), nextCursor: null };
  });

  router.get('/trusted-issuers/:id', async (ctx) => {
    const found = await trustedIssuers.get(ctx.params.id!, reachOf(principalOf(ctx)));
    setVersionTag(ctx, found.version);
    ctx.body = trustedIssuerView(found);
  });

  router.post('/trusted-issuers', async (ctx) => {
    requireOperator(ctx, 'create trusted issuers');
    const created = await trustedIssuers.create(actorFor(ctx), validate(TrustedIssuerCreateSchema, await readJsonBody(ctx)));
    ctx.status = 201;
    ctx.set('Location', `/admin/v1/trusted-issuers/${created.id}`);
    setVersionTag(ctx, created.version);
    ctx.body = trustedIssuerView(created);
  });

  router.patch('/trusted-issuers/:id', async (ctx) => {
    requireOperator(ctx, 'change trusted issuers');
    // 404 before the body is read, as for the other resources: an unknown id is the answer.
    await trustedIssuers.get(ctx.params.id!);
    const version = expectedVersion(ctx);
    const updated = await trustedIssuers.update(actorFor(ctx), ctx.params.id!, validate(TrustedIssuerUpdateSchema, await readJsonBody(ctx)), version);
    setVersionTag(ctx, updated.version);
    ctx.body = trustedIssuerView(updated);
  });

  router.delete('/trusted-issuers/:id', async (ctx) => {
    requireOperator(ctx, 'delete trusted issuers');
    await trustedIssuers.delete(actorFor(ctx), ctx.params.id!);
    ctx.status = 204;
  });

  return router;
}
