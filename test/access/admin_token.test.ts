import { importJWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintConsoleLink } from '../../src/console/sign_in.js';
import { adminAudience } from '../../src/signing/admin_token.js';
import { signOwnJwt } from '../../src/signing/own_jwt.js';
import { adminToken, createUser, type TestUser } from '../support/admin.js';
import { startTestKeygate, TEST_ISSUER, type TestKeygate } from '../support/keygate.js';

/**
 * Keygate's own admin tokens: the admin API wants typ keygate-admin+jwt, an iat that is
 * not in the future, and a lifetime (exp - iat) of at most ADMIN_TOKEN_MAX_LIFETIME.
 */
let kg: TestKeygate;
let operator: TestUser;
const now = () => Math.floor(Date.now() / 1000);

beforeAll(async () => {
  kg = await startTestKeygate();
  operator = await createUser(kg.keygate, { operator: true });
});
afterAll(() => kg.close());

const me = (token: string) => kg.http.get('/admin/v1/me').set('Authorization', `Bearer ${token}`);

/** Signed with Keygate's own key, for its admin audience, with the header and claims given. */
async function ownToken(header: { typ?: string }, claims: { iat?: number; exp: number }): Promise<string> {
  const key = kg.keygate.keySet().keys[0]!;
  const { created_at: _c, signs_from: _s, ...jwk } = key as typeof key & { signs_from?: unknown };
  const jwt = new SignJWT({ email: operator.email }).setProtectedHeader({ alg: key.alg!, kid: key.kid!, ...header }).setIssuer(TEST_ISSUER).setAudience(adminAudience(TEST_ISSUER)).setExpirationTime(claims.exp);
  if (claims.iat !== undefined) jwt.setIssuedAt(claims.iat);
  return jwt.sign(await importJWK(jwk, key.alg));
}

function expectRefused(response: Awaited<ReturnType<typeof me>>, detail: RegExp): void {
  expect(response.status).toBe(401);
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(response.headers['www-authenticate']).toMatch(/^Bearer error="invalid_token"/);
  expect(response.body.detail).toMatch(detail);
}

describe('typ', () => {
  it('a token minted as `keygate admin-token` mints it (typ keygate-admin+jwt) passes', async () => {
    expect((await me(operator.token)).status).toBe(200);
  });

  it('a token without the admin typ, or with another, is refused', async () => {
    const exp = now() + 600;
    expectRefused(await me(await ownToken({ typ: 'JWT' }, { iat: now(), exp })), /not a Keygate admin token/);
    expectRefused(await me(await ownToken({}, { iat: now(), exp })), /not a Keygate admin token/);
    expectRefused(await me(await ownToken({ typ: 'at+jwt' }, { iat: now(), exp })), /not a Keygate admin token/);
  });

  it('a console sign-in link token is no admin token, even for the admin audience', async () => {
    const link = await mintConsoleLink(kg.keygate.config, kg.keygate.keySet(), operator.email);
    const linkToken = new URL(link).searchParams.get('token')!;
    expectRefused(await me(linkToken), /not accepted|not a Keygate admin token/);
    const retargeted = await signOwnJwt(kg.keygate.config, kg.keygate.keySet(), {
      typ: 'keygate-console-link+jwt',
      audience: adminAudience(TEST_ISSUER),
      claims: { email: operator.email },
      ttlSeconds: 600,
      jti: 'x',
      now: now(),
    });
    expectRefused(await me(retargeted), /not a Keygate admin token/);
  });

  it('an admin token is no console sign-in link', async () => {
    const response = await kg.http.post('/console/sign-in').type('form').send({ token: operator.token });
    expect(response.status).toBe(401);
    expect(response.headers['set-cookie']).toBeUndefined();
  });
});

describe('iat', () => {
  it('an iat in the future is refused; within the 5 s clock tolerance it passes', async () => {
    const future = now() + 3600;
    expectRefused(await me(await adminToken(kg.keygate, operator.email, 600, future)), /issued in the future/);
    expect((await me(await adminToken(kg.keygate, operator.email, 600, now() + 3))).status).toBe(200);
  });

  it('a token without iat is refused', async () => {
    expectRefused(await me(await ownToken({ typ: 'keygate-admin+jwt' }, { exp: now() + 600 })), /iat/);
  });
});

describe('lifetime (ADMIN_TOKEN_MAX_LIFETIME)', () => {
  it('by default at most 24 hours', async () => {
    expectRefused(await me(await adminToken(kg.keygate, operator.email, 86_401)), /lives longer than 86400 seconds/);
    expectRefused(await me(await adminToken(kg.keygate, operator.email, 365 * 86_400)), /lives longer than 86400 seconds/);
    expect((await me(await adminToken(kg.keygate, operator.email, 86_400))).status).toBe(200);
  });

  it('configurable', async () => {
    const short = await startTestKeygate({ ADMIN_TOKEN_MAX_LIFETIME: '3600' });
    try {
      const user = await createUser(short.keygate, { operator: true });
      const get = (token: string) => short.http.get('/admin/v1/me').set('Authorization', `Bearer ${token}`);
      expect((await get(await adminToken(short.keygate, user.email, 3601))).status).toBe(401);
      expect((await get(await adminToken(short.keygate, user.email, 3600))).status).toBe(200);
    } finally {
      await short.close();
    }
  });
});
