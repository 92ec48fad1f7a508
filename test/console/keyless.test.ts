import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { calculateJwkThumbprint, importPKCS8, SignJWT, type JWK } from 'jose';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintConsoleLink } from '../../src/console/sign_in.js';
import { adminToken, createUser, type TestUser } from '../support/admin.js';
import { createTenant, startServedKeygate, type ServedKeygate, type Tenant } from '../support/keygate.js';
import { check, documentWidth, launchBrowser, SHOTS, signedInPage } from './browser.js';

/**
 * Keypairs with no secret in the console (issue 17): a public key pasted as PEM, whose
 * private half then gets a token with private_key_jwt; a pasted private key refused and
 * never shown again; a federated keypair from a trusted issuer; the keys on the page.
 */
const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const ISSUER = 'https://cluster.example.test';

let kg: ServedKeygate;
let browser: Browser;
let tenant: Tenant;
let admin: TestUser;
let page: Page;

beforeAll(async () => {
  kg = await startServedKeygate();
  tenant = await createTenant(kg.keygate);
  admin = await createUser(kg.keygate, { environments: [{ environmentId: tenant.environmentId, accountId: tenant.accountId }] });
  const operator = await createUser(kg.keygate, { operator: true });
  const created = await kg.http
    .post('/admin/v1/trusted-issuers')
    .set('authorization', `Bearer ${await adminToken(kg.keygate, operator.email)}`)
    .send({ issuer: ISSUER, name: 'Cluster', jwks: { keys: [{ kty: 'OKP', crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo', kid: 'k1' }] } });
  expect(created.status).toBe(201);
  browser = await launchBrowser();
  const link = await mintConsoleLink(kg.keygate.config, kg.keygate.keySet(), admin.email, Math.floor(kg.clock.now().getTime() / 1000));
  page = await signedInPage(browser, kg.issuer, link);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await kg?.close();
});

const newForm = () => `${kg.issuer}/console/environments/${tenant.environmentId}/keypairs/new`;
const keypairCount = async () => (await kg.keygate.keypairs.listKeypairs({ accountId: tenant.accountId, environmentId: tenant.environmentId }, { limit: 100 })).length;

/** A screenshot at 360 px with no sideways scroll, then back to 1280. */
async function narrow(name: string) {
  await page.setViewportSize({ width: 360, height: 800 });
  expect(await documentWidth(page), name).toBeLessThanOrEqual(360);
  await page.screenshot({ path: path.join(SHOTS, `${name}-360px.png`), fullPage: true });
  await page.setViewportSize({ width: 1280, height: 900 });
}

describe('console: keypairs with no secret (issue 17)', () => {
  it('creates a public-key keypair from a pasted PEM, whose private key then gets a token with private_key_jwt', { timeout: 30_000 }, async () => {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const thumbprint = await calculateJwkThumbprint(publicKey.export({ format: 'jwk' }) as JWK);
    await page.goto(newForm());
    await page.getByLabel('Name', { exact: false }).first().fill('signed by its own key');
    await page.getByRole('checkbox', { name: /^read/ }).first().check();
    await page.getByRole('radio', { name: /^Public key/ }).check();
    await page.getByLabel(/^Public keys/).fill(publicKey.export({ type: 'spki', format: 'pem' }).toString());
    await check(page, '60-create-public-key');
    await narrow('60-create-public-key');
    await page.getByRole('button', { name: 'Create keypair' }).click();

    // No secret page: the keypair's own page, with a notice and the key's thumbprint.
    await page.waitForURL(/\/console\/keypairs\/kp_[^/]+\?done=created_public_key$/);
    expect(await page.locator('p.notice').textContent()).toContain('private_key_jwt');
    expect(await page.locator('dl.facts').textContent()).toContain(thumbprint);
    expect(await page.locator('dl.facts').textContent()).toContain('EC P-256');
    await check(page, '61-keypair-public-key');
    const clientId = new URL(page.url()).pathname.split('/').at(-1)!;

    const now = Math.floor(kg.clock.now().getTime() / 1000);
    const key = await importPKCS8(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), 'ES256');
    const assertion = await new SignJWT({ iss: clientId, sub: clientId, aud: kg.issuer, jti: crypto.randomUUID(), iat: now, exp: now + 60 }).setProtectedHeader({ alg: 'ES256' }).sign(key);
    const token = await kg.http.post('/token').type('form').send({ grant_type: 'client_credentials', client_assertion_type: JWT_BEARER, client_assertion: assertion });
    expect(token.status, JSON.stringify(token.body)).toBe(200);

    // The page's Node.js snippet, as pasted (with the key file's path), gets a token too. Its
    // assertion's nbf is the real time: Keygate's hand-moved clock is brought up to it first.
    kg.clock.advance(Math.ceil((Date.now() - kg.clock.now().getTime()) / 1000) + 1);
    const snippet = (await page.locator('#snippet-private-key-jwt').textContent())!;
    const keyFile = path.join(await mkdtemp(path.join(tmpdir(), 'keygate-console-')), 'client.pem');
    await writeFile(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const run = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', `${snippet.replace("'client.pem'", JSON.stringify(keyFile))}\nconsole.log(JSON.stringify({ access_token }));`]);
    const payload = JSON.parse(Buffer.from((JSON.parse(run.stdout) as { access_token: string }).access_token.split('.')[1]!, 'base64url').toString()) as { client_id: string };
    expect(payload.client_id).toBe(clientId);

    // Settings: no rotation of a secret it does not have; a second key added, then the first removed.
    await page.goto(`${kg.issuer}/console/keypairs/${clientId}?tab=settings`);
    expect(await page.getByRole('button', { name: 'Rotate secret' }).count()).toBe(0);
    const next = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' });
    await page.getByLabel(/^Add a public key/).fill(JSON.stringify(next));
    await page.getByRole('button', { name: 'Add key' }).click();
    await page.waitForURL(/done=key_added/);
    await check(page, '62-keypair-public-key-settings');
    await page.getByRole('button', { name: `Remove key ${thumbprint}` }).click();
    await page.waitForURL(/done=key_removed/);
    const keys = (await kg.keygate.keypairs.getKeypair(clientId)).publicKeys;
    expect(keys.map((stored) => stored.jwk.kty)).toEqual(['OKP']);

    // The list hints at the key, not at an empty secret.
    await page.goto(`${kg.issuer}/console/environments/${tenant.environmentId}`);
    expect(await page.locator('main table tbody td[data-label="Credential"]').allTextContents()).toContain(`public key ${keys[0]!.thumbprint.slice(0, 4)}…`);
  });

  it('refuses a pasted private key with a form error, creates nothing, and does not show the key again', { timeout: 20_000 }, async () => {
    const before = await keypairCount();
    const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    await page.goto(newForm());
    await page.getByLabel('Name', { exact: false }).first().fill('leaky');
    await page.getByRole('radio', { name: /^Public key/ }).check();
    await page.getByLabel(/^Public keys/).fill(pem);
    const answer = page.waitForResponse((response) => response.request().method() === 'POST');
    await page.getByRole('button', { name: 'Create keypair' }).click();
    expect((await answer).status()).toBe(400);
    expect(await page.getByRole('alert').textContent()).toContain('publicKeys is a private key');
    const body = pem.split('\n')[1]!;
    expect(await page.content()).not.toContain(body);
    expect(await page.getByLabel(/^Public keys/).inputValue()).toBe('');
    expect(await keypairCount()).toBe(before);
    await check(page, '63-create-private-key-refused');
    await narrow('63-create-private-key-refused');
  });

  it('creates a federated keypair for a trusted issuer, subject and claims', { timeout: 20_000 }, async () => {
    await page.goto(newForm());
    await page.getByLabel('Name', { exact: false }).first().fill('payments pod');
    await page.getByRole('radio', { name: /^Federated/ }).check();
    await page.getByLabel('Trusted issuer', { exact: true }).selectOption(ISSUER);
    await page.getByLabel(/^Subject/).fill('system:serviceaccount:payments:api');
    await page.getByLabel(/^Claims that must match/).fill('kubernetes.io/namespace=payments');
    await check(page, '64-create-federated');
    await narrow('64-create-federated');
    await page.getByRole('button', { name: 'Create keypair' }).click();
    await page.waitForURL(/done=created_federated$/);
    const facts = (await page.locator('dl.facts').textContent())!;
    for (const shown of [ISSUER, 'system:serviceaccount:payments:api', 'kubernetes.io/namespace=payments']) expect(facts).toContain(shown);
  });
});
