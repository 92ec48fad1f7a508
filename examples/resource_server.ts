/**
 * A resource server that accepts Keygate tokens: GET /reports needs `read`,
 * POST /reports needs `write`. Run it next to `npm start`:
 *
 *   npx tsx examples/resource_server.ts
 *   curl -H "Authorization: Bearer $ACCESS_TOKEN" http://localhost:4000/reports
 */
import { pathToFileURL } from 'node:url';
import Router from '@koa/router';
import Koa from 'koa';
import { createVerifier, koaRequireToken, type VerifiedToken, type Verifier } from 'keygate/verifier';

export function createResourceServer(verifier: Verifier): Koa {
  const router = new Router();
  router.get('/reports', koaRequireToken(verifier, { scopes: ['read'] }), (ctx) => {
    const token = ctx.state.token as VerifiedToken;
    ctx.body = { reports: ['q3-revenue'], readBy: token.clientId, accountId: token.accountId };
  });
  router.post('/reports', koaRequireToken(verifier, { scopes: ['write'] }), (ctx) => {
    ctx.status = 201;
    ctx.body = { created: true, by: (ctx.state.token as VerifiedToken).clientId };
  });
  const app = new Koa();
  app.use(router.routes()).use(router.allowedMethods());
  return app;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const issuer = process.env.ISSUER ?? 'http://localhost:3000';
  const verifier = createVerifier({ issuer, audience: process.env.AUDIENCE ?? `${issuer}/api` });
  const port = Number(process.env.PORT ?? 4000);
  createResourceServer(verifier).listen(port, () => console.log(`resource server on http://localhost:${port} (tokens from ${issuer})`));
}
