import { createServer } from 'node:http';
import { importJWK, SignJWT } from 'jose';
import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authenticate, createVerifier, requireToken, type VerifiedToken, type Verifier } from 'keygate/verifier';
import { createResourceServer } from '../../examples/resource_server.js';
import { createKeypair, createTenant, requestToken, startServedKeygate, type ServedKeygate } from '../support/keygate.js';

let kg: ServedKeygate;
let issuer: string;
let verifier: Verifier;
let readToken: string;

beforeAll(async () => {
  kg = await startServedKeygate();
  issuer = kg.issuer;
  verifier = createVerifier({ issuer, audience: kg.keygate.catalog.defaultServer!.identifier });
  const tenant = await createTenant(kg.keygate);
  const { keypair, clientSecret } = await createKeypair(kg.keygate, { owner: { environmentId: tenant.environmentId }, scopes: ['read'] });
  const response = await requestToken(kg.http, { clientId: keypair.clientId, clientSecret });
  readToken = response.body.access_token;
});

afterAll(() => kg.close());

async function expiredToken(): Promise<string> {
  const key = kg.keygate.keySet().keys[0]!;
  const { created_at: _c, signs_from: _s, ...jwk } = key;
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ client_id: 'kp_x', scope: 'read' })
    .setProtectedHeader({ alg: 'ES256', kid: key.kid, typ: 'at+jwt' })
    .setIssuer(issuer)
    .setAudience(kg.keygate.catalog.defaultServer!.identifier)
    .setIssuedAt(now - 900)
    .setExpirationTime(now - 600)
    .sign(await importJWK(jwk, 'ES256'));
}

describe('the example resource server (Koa middleware)', () => {
  it('accepts a token from Keygate on the route its scope allows', async () => {
    const app = supertest(createResourceServer(verifier).callback());
    const response = await app.get('/reports').set('Authorization', `Bearer ${readToken}`);
    expect(response.status).toBe(200);
    expect(response.body.reports).toEqual(['q3-revenue']);
  });

  it('answers RFC 6750: 401 without error code when no token, invalid_token when forged or expired, 403 when under-scoped', async () => {
    const app = supertest(createResourceServer(verifier).callback());

    const missing = await app.get('/reports');
    expect(missing.status).toBe(401);
    expect(missing.headers['www-authenticate']).toBe('Bearer');

    const forged = await app.get('/reports').set('Authorization', `Bearer ${readToken.slice(0, -4)}AAAA`);
    expect(forged.status).toBe(401);
    expect(forged.headers['www-authenticate']).toMatch(/^Bearer error="invalid_token", error_description="the token signature is not valid"$/);
    expect(forged.body).toEqual({ error: 'invalid_token', error_description: 'the token signature is not valid' });

    const expired = await app.get('/reports').set('Authorization', `Bearer ${await expiredToken()}`);
    expect(expired.status).toBe(401);
    expect(expired.headers['www-authenticate']).toBe('Bearer error="invalid_token", error_description="the token has expired"');

    const underScoped = await app.post('/reports').set('Authorization', `Bearer ${readToken}`);
    expect(underScoped.status).toBe(403);
    expect(underScoped.headers['www-authenticate']).toBe('Bearer error="insufficient_scope", error_description="the token lacks the scope write", scope="write"');
  });
});

describe('framework-free use', () => {
  it('authenticate() on a plain node:http server', async () => {
    const server = createServer(async (req, res) => {
      const token = await authenticate(verifier, req, res, { scopes: ['read'] });
      if (!token) return;
      res.end(JSON.stringify({ hello: token.clientId }));
    });
    const app = supertest(server);
    expect((await app.get('/').set('Authorization', `Bearer ${readToken}`)).status).toBe(200);
    const refused = await app.get('/').set('Authorization', 'Bearer nope');
    expect(refused.status).toBe(401);
    expect(refused.headers['www-authenticate']).toMatch(/^Bearer error="invalid_token"/);
  });

  it('requireToken() as Express-style middleware puts the claims on req.auth', async () => {
    const middleware = requireToken(verifier, { scopes: ['read'] });
    const server = createServer((req, res) => {
      const request = req as typeof req & { auth?: VerifiedToken };
      middleware(request, res, (error) => {
        res.end(JSON.stringify(error ? { error: String(error) } : { scopes: request.auth?.scopes }));
      });
    });
    const ok = await supertest(server).get('/').set('Authorization', `Bearer ${readToken}`);
    expect(JSON.parse(ok.text)).toEqual({ scopes: ['read'] });
    const refused = await supertest(server).get('/');
    expect(refused.status).toBe(401);
  });
});
