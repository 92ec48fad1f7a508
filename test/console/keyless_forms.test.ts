import { generateKeyPairSync } from 'node:crypto';
import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser, type TestUser } from '../support/admin.js';
import { consoleSession, type ConsoleSession } from '../support/console.js';
import { createTenant, startTestKeygate, type Tenant, type TestKeygate } from '../support/keygate.js';

/**
 * The keyless create and key forms over HTTP, as a browser without script sends them:
 * each bad paste is a 400 page naming the field (the domain's own names for what it
 * checks), creating and changing nothing, and a private key is never sent back.
 */
let kg: TestKeygate;
let tenant: Tenant;
let admin: TestUser;
let session: ConsoleSession;

beforeAll(async () => {
  kg = await startTestKeygate();
  tenant = await createTenant(kg.keygate);
  admin = await createUser(kg.keygate, { environments: [{ environmentId: tenant.environmentId, accountId: tenant.accountId }] });
  session = await consoleSession(kg, admin.email);
});
afterAll(() => kg.close());

const http = () => supertest(kg.keygate.callback());
const post = (url: string, form: Record<string, string>) => http().post(url).set('Cookie', session.cookie).type('form').send({ _csrf: session.csrf, ...form });
const create = (form: Record<string, string>) => post(`/console/environments/${tenant.environmentId}/keypairs/new`, { name: 'keyless', expiry: 'never', ...form });
const keypairCount = async () => Number(((await kg.keygate.db.knex('keypairs').where({ environment_id: tenant.environmentId }).count('* as n').first()) as { n: string | number }).n);
/** The page's error list, without markup: "<field> <message>" a line. */
const errorsOf = (page: string) => [...page.matchAll(/<li><strong>([^<]+)<\/strong> ([^<]+)<\/li>/g)].map(([, field, message]) => `${field} ${message}`);
const publicPem = () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();

describe('console keyless forms', () => {
  it('refuses pasted private keys, as PEM and as a JWK with d, without sending them back or creating anything', async () => {
    const before = await keypairCount();
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = privateKey.export({ format: 'jwk' });
    const json = JSON.stringify(jwk);
    const pastes = [
      privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      JSON.stringify({ keys: [jwk] }),
      // Not JSON the server can read, yet holding a private key all the same.
      `${json.slice(0, -1)},}`,
      `${json}\n${json}`,
      JSON.stringify({ jwk }),
    ];
    for (const paste of pastes) {
      const page = await create({ credentialType: 'public_key', publicKeys: paste });
      expect(page.status).toBe(400);
      expect(errorsOf(page.text)[0], paste).toMatch(/^publicKeys is a private key/);
      expect(page.text).not.toContain(jwk.d!);
      // The PEM's first line of key material (the JWK's is its d, checked above).
      if (paste.includes('\n')) expect(page.text).not.toContain(paste.split('\n')[1]!);
    }
    expect(await keypairCount()).toBe(before);
  });

  it("names the bad key: an unreadable PEM here, a key given twice by the domain's own check", async () => {
    const before = await keypairCount();
    const unreadable = await create({ credentialType: 'public_key', publicKeys: '-----BEGIN PUBLIC KEY-----\nbm90IGEga2V5\n-----END PUBLIC KEY-----' });
    expect(unreadable.status).toBe(400);
    expect(errorsOf(unreadable.text)).toEqual(['publicKeys[0] is not a PEM public key this server can read']);
    const pem = publicPem();
    const twice = await create({ credentialType: 'public_key', publicKeys: `${pem}\n${pem}` });
    expect(twice.status).toBe(400);
    expect(errorsOf(twice.text)[0]).toMatch(/^publicKeys\[1\] /);
    const neither = await create({ credentialType: 'public_key', publicKeys: 'hello' });
    expect(errorsOf(neither.text)).toEqual(['publicKeys is neither PEM (-----BEGIN PUBLIC KEY-----) nor JSON (a JWK or a JWK Set)']);
    expect(await keypairCount()).toBe(before);
  });

  it('refuses a federation with an issuer nobody trusts or a claim line that is not name=value', async () => {
    const unknown = await create({ credentialType: 'federated', federationIssuer: 'https://nobody.example.test', federationSubject: 'workload' });
    expect(unknown.status).toBe(400);
    expect(errorsOf(unknown.text)[0]).toMatch(/^federation\.issuer is not a trusted issuer/);
    const claims = await create({ credentialType: 'federated', federationIssuer: 'https://nobody.example.test', federationSubject: 'workload', federationClaims: 'repository=acme/api\nbranch' });
    expect(errorsOf(claims.text)).toEqual(['federation.claims line 2 is not name=value']);
  });

  it('adds and removes keys through the Settings forms, never the last one, and offers no rotation', async () => {
    const created = await create({ credentialType: 'public_key', publicKeys: publicPem(), requireDpop: 'yes' });
    expect(created.status).toBe(303);
    const clientId = /\/console\/keypairs\/(kp_\w+)\?done=created_public_key$/.exec(created.headers.location!)![1]!;
    const keypair = await kg.keygate.keypairs.getKeypair(clientId);
    expect(keypair.requireDpop).toBe(true);
    const settings = await http().get(`/console/keypairs/${clientId}?tab=settings`).set('Cookie', session.cookie);
    expect(settings.text).not.toContain('Rotate secret');
    // The only key cannot go: the domain keeps at least one.
    const last = await post(`/console/keypairs/${clientId}/keys/remove`, { thumbprint: keypair.publicKeys[0]!.thumbprint });
    expect(last.status).toBe(400);
    expect(errorsOf(last.text)[0]).toMatch(/^publicKeys /);
    const unknown = await post(`/console/keypairs/${clientId}/keys/remove`, { thumbprint: 'nope' });
    expect(errorsOf(unknown.text)).toEqual(['thumbprint names no key of this keypair']);
    const added = await post(`/console/keypairs/${clientId}/keys/add`, { publicKeys: publicPem() });
    expect(added.status).toBe(303);
    expect((await kg.keygate.keypairs.getKeypair(clientId)).publicKeys).toHaveLength(2);
    expect((await post(`/console/keypairs/${clientId}/keys/remove`, { thumbprint: keypair.publicKeys[0]!.thumbprint })).status).toBe(303);
    const kept = (await kg.keygate.keypairs.getKeypair(clientId)).publicKeys;
    expect(kept.map((key) => key.thumbprint)).not.toContain(keypair.publicKeys[0]!.thumbprint);
    expect(kept).toHaveLength(1);
  });
});
