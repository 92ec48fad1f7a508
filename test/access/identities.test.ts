import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../src/shared/ids.js';
import { OPERATOR, createTenant, startTestKeygate, type Tenant, type TestKeygate } from '../support/keygate.js';

/**
 * Admin tokens of an external identity provider (ADMIN_TRUSTED_ISSUERS), signed with a
 * key whose JWKS this test serves over loopback HTTP. A token maps by its linked
 * (iss, sub); an unlinked one by its email only when email_verified is true, A-Z
 * folded and exact otherwise; the first email match links the subject.
 */
const IDP = 'https://idp.example';
const AUDIENCE = 'keygate-admin';

let idp: Server;
let privateKey: CryptoKey;
let kg: TestKeygate;
let tenant: Tenant;
/** A fresh mailbox domain per run, so users of other runs on the same database never match. */
const domain = `${newId('user').slice(4, 12).toLowerCase()}.example.test`;

beforeAll(async () => {
  const pair = await generateKeyPair('RS256');
  privateKey = pair.privateKey;
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'idp-key', alg: 'RS256', use: 'sig' };
  idp = createServer((_req, res) => {
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => idp.listen(0, '127.0.0.1', resolve));
  const jwksUri = `http://127.0.0.1:${(idp.address() as AddressInfo).port}/jwks`;
  kg = await startTestKeygate({ ADMIN_TRUSTED_ISSUERS: JSON.stringify([{ issuer: IDP, jwksUri, audience: AUDIENCE }]) });
  tenant = await createTenant(kg.keygate);
});
afterAll(async () => {
  await kg.close();
  idp.close();
});

/** A Keygate user who administers the test environment. */
async function admin(local: string) {
  const user = await kg.keygate.tenancy.createUser(OPERATOR, { email: `${local}@${domain}`, name: local, isOperator: false });
  await kg.keygate.tenancy.grantAdmin(OPERATOR, user.id, { environmentId: tenant.environmentId, accountId: tenant.accountId });
  return user;
}

const subject = () => `idp|${newId('user').slice(4)}`;

function signedByIdp(claims: Record<string, unknown>, sub: string | undefined): Promise<string> {
  const jwt = new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'idp-key' }).setIssuer(IDP).setAudience(AUDIENCE).setIssuedAt().setExpirationTime('5m');
  if (sub !== undefined) jwt.setSubject(sub);
  return jwt.sign(privateKey);
}

async function me(claims: Record<string, unknown>, sub: string | undefined) {
  return kg.http.get('/admin/v1/me').set('Authorization', `Bearer ${await signedByIdp(claims, sub)}`);
}

function expectRefused(response: Awaited<ReturnType<typeof me>>): void {
  expect(response.status).toBe(401);
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(response.headers['www-authenticate']).toMatch(/^Bearer error="invalid_token"/);
}

describe('matching by email', () => {
  it('a verified email matches its user, A-Z folded', async () => {
    const user = await admin('dana');
    const response = await me({ email: `DANA@${domain.toUpperCase()}`, email_verified: true }, subject());
    expect(response.status).toBe(200);
    expect(response.body.id).toBe(user.id);
  });

  it('a look-alike that Unicode lowercases into another user’s email is refused: the Kelvin sign is not k', async () => {
    await admin('k');
    // U+212A KELVIN SIGN: JavaScript's toLowerCase makes it "k".
    expectRefused(await me({ email: `\u212A@${domain}`, email_verified: true }, subject()));
    // Nor do other non-ASCII case mappings fold: U+0130 (İ) lowercases to "i̇".
    await admin('ian');
    expectRefused(await me({ email: `\u0130an@${domain}`, email_verified: true }, subject()));
  });

  it('an email the provider has not verified matches nobody: email_verified false, absent, or not the boolean true', async () => {
    await admin('erin');
    for (const claims of [{ email_verified: false }, {}, { email_verified: 'true' }]) {
      expectRefused(await me({ email: `erin@${domain}`, ...claims }, subject()));
    }
  });

  it('a subject that happens to be a Keygate user id names no one', async () => {
    const user = await admin('sam');
    expectRefused(await me({}, user.id));
  });

  it('a NUL in the subject or the email is a 401, not a 500 (PostgreSQL text cannot hold it)', async () => {
    expectRefused(await me({ email: `nul@${domain}`, email_verified: true }, 'idp|\u0000'));
    expectRefused(await me({ email: `nul\u0000@${domain}`, email_verified: true }, subject()));
  });

  it('a token without a subject is refused', async () => {
    await admin('nosub');
    expectRefused(await me({ email: `nosub@${domain}`, email_verified: true }, undefined));
  });
});

describe('linked identities', () => {
  it('once an email has matched, the subject maps to the user, whatever email later tokens carry', async () => {
    const user = await admin('alice');
    const sub = subject();
    expect((await me({ email: `alice@${domain}`, email_verified: true }, sub)).body.id).toBe(user.id);

    for (const claims of [{ email: 'alice@new-employer.test', email_verified: true }, { email: 'alice@new-employer.test', email_verified: false }, {}]) {
      const response = await me(claims, sub);
      expect(response.status, JSON.stringify(claims)).toBe(200);
      expect(response.body.id).toBe(user.id);
    }
  });

  it('a linked subject whose token names another user’s email still maps to its own user', async () => {
    const first = await admin('bob');
    const second = await admin('carol');
    const sub = subject();
    expect((await me({ email: `bob@${domain}`, email_verified: true }, sub)).body.id).toBe(first.id);
    expect((await me({ email: `carol@${domain}`, email_verified: true }, sub)).body.id).toBe(first.id);
    // carol herself still links her own subject.
    expect((await me({ email: `carol@${domain}`, email_verified: true }, subject())).body.id).toBe(second.id);
  });

  it('a second subject with a linked user’s email (an address handed on) does not link', async () => {
    const user = await admin('frank');
    const sub = subject();
    expect((await me({ email: `frank@${domain}`, email_verified: true }, sub)).body.id).toBe(user.id);
    expectRefused(await me({ email: `frank@${domain}`, email_verified: true }, subject()));
    expect((await me({}, sub)).body.id).toBe(user.id);
  });

  it('a linked user who is no longer an admin anywhere is refused', async () => {
    const user = await admin('gina');
    const sub = subject();
    expect((await me({ email: `gina@${domain}`, email_verified: true }, sub)).status).toBe(200);
    await kg.keygate.tenancy.revokeAdmin(OPERATOR, user.id, { environmentId: tenant.environmentId, accountId: tenant.accountId });
    expectRefused(await me({}, sub));
  });
});
