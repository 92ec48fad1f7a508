import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser, type TestUser } from '../support/admin.js';
import { runCli } from '../support/cli.js';
import { createTenant, startServedKeygate, type ServedKeygate, type Tenant } from '../support/keygate.js';
import { check, clipboardText, documentWidth, launchBrowser, SHOTS } from './browser.js';

/**
 * The console in a real browser: Debian's Chromium (installed by .ci/run) driven by
 * Playwright, against Keygate served on loopback. Every page gets an axe-core check
 * and a screenshot in test-results/console/ (browser.ts).
 */
let kg: ServedKeygate;
let browser: Browser;
let tenant: Tenant;
let admin: TestUser;
let stranger: TestUser;
let operator: TestUser;

beforeAll(async () => {
  kg = await startServedKeygate();
  tenant = await createTenant(kg.keygate);
  const elsewhere = await createTenant(kg.keygate);
  admin = await createUser(kg.keygate, { environments: [{ environmentId: tenant.environmentId, accountId: tenant.accountId }] });
  stranger = await createUser(kg.keygate, { environments: [{ environmentId: elsewhere.environmentId, accountId: elsewhere.accountId }] });
  operator = await createUser(kg.keygate, { operator: true });
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await kg?.close();
});

/** `keygate console-link --email E`, as an admin would run it on the server. */
async function signInLink(email: string): Promise<string> {
  const result = await runCli(['console-link', '--email', email], { KEYS_FILE: path.join(kg.dir, 'jwks.json'), ISSUER: kg.issuer }, kg.dir);
  expect(result.code, result.stderr).toBe(0);
  const link = /^(http\S+)$/m.exec(result.stdout)?.[1];
  expect(link).toMatch(new RegExp(`^${kg.issuer}/console/sign-in\\?token=`));
  return link!;
}

async function signIn(email: string, shot?: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: kg.issuer });
  const page = await context.newPage();
  await page.goto(await signInLink(email));
  if (shot) await check(page, shot);
  // The keyboard alone: to the button, and Enter.
  await page.getByRole('button', { name: 'Sign in' }).focus();
  await page.keyboard.press('Enter');
  await page.waitForURL(`${kg.issuer}/console`);
  return page;
}

function token(clientId: string, clientSecret: string) {
  return fetch(`${kg.issuer}/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials',
  });
}

/**
 * The default resource server's scope choices. Other test files define servers with
 * the same scope names (`read` at https://payments.example), and the form groups
 * each server's scopes under a legend naming its identifier. (Which identifier is the
 * default depends on the test file that first started Keygate on the shared database.)
 */
function defaultServerScopes(page: Page) {
  const identifier = kg.keygate.catalog.defaultServer!.identifier;
  return page.getByRole('group', { name: `(${identifier})` });
}

describe('admin console in Chromium', () => {
  it('walks a keypair through its whole life as an environment admin', { timeout: 120_000 }, async () => {
    const page = await signIn(admin.email, '00-sign-in');
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Overview');
    const cookie = (await page.context().cookies()).find((candidate) => candidate.name === 'keygate_console')!;
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/console' });
    await check(page, '01-overview');

    await page.getByRole('navigation').getByRole('link', { name: 'test' }).click();
    await expect.poll(() => page.url()).toBe(`${kg.issuer}/console/environments/${tenant.environmentId}`);
    await page.getByRole('link', { name: 'Create a keypair' }).click();
    await check(page, '03-create-form');
    await page.getByLabel('Name', { exact: false }).first().fill('billing sync');
    await page.getByLabel('Comment').fill('nightly export');
    await page.getByLabel('1 week').check();
    await defaultServerScopes(page).getByRole('checkbox', { name: /^read/ }).check();
    await page.getByLabel(/Rate limit/).fill('120');
    await page.getByRole('button', { name: 'Create keypair' }).click();

    // The POST redirected to a page of its own, which shows the secret once.
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Keypair billing sync created');
    expect(page.url()).toMatch(new RegExp(`^${kg.issuer}/console/keypairs/kp_\\w+/secret/[\\w-]+$`));
    expect(await page.getByRole('alert').textContent()).toContain('will not be shown again');
    const clientId = (await page.locator('#client-id').textContent())!;
    const secret = await page.locator('#secret').inputValue();
    expect(secret).toMatch(/^kgs_/);
    expect(await page.locator('#curl').textContent()).toBe(`curl -s -u "${clientId}:${secret}" -d grant_type=client_credentials ${kg.issuer}/token`);
    await page.getByRole('button', { name: 'Copy secret' }).click();
    await expect.poll(() => page.locator('#copy-status').textContent()).toBe('Copied to the clipboard.');
    expect(await clipboardText(page)).toBe(secret);
    await check(page, '04-secret-once');
    // A reload neither creates again nor shows the secret again.
    const secretPage = page.url();
    const reloaded = await page.reload();
    expect(reloaded!.status()).toBe(410);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('The secret was shown once');
    expect(await page.content()).not.toContain(secret);
    expect(page.url()).toBe(secretPage);

    // The secret works; the list and the keypair's page never show it again.
    expect((await token(clientId, secret)).status).toBe(200);
    const other = await kg.keygate.keypairs.createKeypair({ type: 'user', id: admin.id }, { owner: { environmentId: tenant.environmentId }, name: 'deploy bot', comment: 'CI pipeline', scopes: ['write'] });
    await kg.keygate.keypairs.disableKeypair({ type: 'user', id: admin.id }, other.keypair.clientId, 'pipeline retired');
    await page.goto(`${kg.issuer}/console/environments/${tenant.environmentId}`);
    const list = (await page.locator('main table').textContent())!;
    expect(list).toContain('billing sync');
    expect(list).toContain(`kgs_••••${secret.slice(-4)}`);
    expect(list).toContain('never');
    expect(list).not.toContain(secret);
    await check(page, '02-keypair-list');
    await page.getByLabel('State').selectOption('disabled');
    await page.getByRole('button', { name: 'Filter' }).click();
    expect(await page.locator('main table').textContent()).not.toContain('billing sync');
    await page.goto(`${kg.issuer}/console/keypairs/${clientId}`);
    expect(await page.content()).not.toContain(secret);
    expect(await page.locator('dl.facts').textContent()).toContain('120 per minute');
    await check(page, '05-keypair');

    await page.getByRole('navigation', { name: 'Sections of this keypair' }).getByRole('link', { name: 'Settings' }).click();
    await page.getByLabel(/^Reason/).fill('rotating the team');
    // Unconfirmed, the form does not go (required checkbox, no script needed).
    await page.getByRole('button', { name: 'Disable keypair' }).click();
    expect(page.url()).toBe(`${kg.issuer}/console/keypairs/${clientId}?tab=settings`);
    expect((await token(clientId, secret)).status).toBe(200);
    await page.getByLabel(/^Yes, refuse token requests with billing sync/).check();
    await page.getByRole('button', { name: 'Disable keypair' }).click();
    await expect.poll(() => page.getByRole('status').first().textContent()).toContain('Disabled');
    expect((await token(clientId, secret)).status).toBe(401);
    await page.getByRole('button', { name: 'Enable keypair' }).click();
    await expect.poll(() => page.getByRole('status').first().textContent()).toBe('Enabled.');
    expect((await token(clientId, secret)).status).toBe(200);

    await page.getByRole('link', { name: 'Grants' }).click();
    await defaultServerScopes(page).getByRole('checkbox', { name: /^write/ }).check();
    await page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => page.getByRole('status').first().textContent()).toBe('Saved.');
    expect(await page.locator('dl.facts').textContent()).toContain('read write');

    // No grace period is preselected: the admin picks one, and confirms.
    await page.getByRole('link', { name: 'Settings' }).click();
    expect(await page.getByRole('group', { name: 'Keep the current secret working for' }).getByRole('radio', { checked: true }).count()).toBe(0);
    await page.getByLabel('None: the current secret stops working now').check();
    await page.getByLabel(/^Yes, make a new secret for billing sync/).check();
    await page.getByRole('button', { name: 'Rotate secret' }).click();
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Keypair billing sync rotated');
    const rotated = await page.locator('#secret').inputValue();
    expect(rotated).not.toBe(secret);
    expect((await token(clientId, secret)).status).toBe(401);
    expect((await token(clientId, rotated)).status).toBe(200);
    // A reload rotates nothing: the secret just shown keeps working.
    expect((await page.reload())!.status()).toBe(410);
    expect(await page.content()).not.toContain(rotated);
    expect((await token(clientId, rotated)).status).toBe(200);

    await page.goto(`${kg.issuer}/console/keypairs/${clientId}?tab=usage`);
    const usage = (await page.getByRole('region', { name: 'Usage' }).textContent())!;
    expect(usage).toMatch(/Last 24 hours\s*5 issued, 2 refused/);
    expect(usage).toContain('keypair_disabled');
    await check(page, '06-keypair-usage');

    await page.goto(`${kg.issuer}/console/environments/${tenant.environmentId}/history`);
    await page.getByLabel('Action').selectOption('keypair.rotated');
    await page.getByRole('button', { name: 'Filter' }).click();
    const history = (await page.locator('main table').textContent())!;
    expect(history).toContain('keypair.rotated');
    expect(history).not.toContain('keypair.created');
    expect(history).toContain(admin.email);
    await check(page, '07-history');

    await page.goto(`${kg.issuer}/console/keypairs/${clientId}?tab=settings`);
    const deleteButton = page.getByRole('button', { name: 'Delete keypair' });
    expect(await deleteButton.isDisabled()).toBe(true);
    await page.getByLabel("Type the keypair's name to confirm").fill('billing sync');
    await deleteButton.click();
    await expect.poll(() => page.getByRole('status').first().textContent()).toBe(`Keypair ${clientId} is deleted; its history stays.`);
    expect(page.url()).toBe(`${kg.issuer}/console/environments/${tenant.environmentId}?deleted=${clientId}`);
    expect((await token(clientId, rotated)).status).toBe(401);

    // A phone: nothing wider than the screen.
    await page.setViewportSize({ width: 360, height: 800 });
    for (const url of [`/console/environments/${tenant.environmentId}`, `/console/environments/${tenant.environmentId}/keypairs/new`]) {
      await page.goto(`${kg.issuer}${url}`);
      expect(await documentWidth(page), url).toBeLessThanOrEqual(360);
    }
    await page.screenshot({ path: path.join(SHOTS, '08-list-360px.png'), fullPage: true });

    // Sign out ends the session.
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.goto(`${kg.issuer}/console/environments/${tenant.environmentId}`);
    expect(page.url()).toBe(`${kg.issuer}/console/sign-in`);
    await page.context().close();
  });

  it('keeps another environment\'s admin out, links work once, and forms need the CSRF token', { timeout: 60_000 }, async () => {
    const created = await kg.keygate.keypairs.createKeypair({ type: 'user', id: admin.id }, { owner: { environmentId: tenant.environmentId }, name: 'not yours', scopes: ['read'] });
    const link = await signInLink(stranger.email);
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(link);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${kg.issuer}/console`);
    expect(await page.getByRole('navigation').textContent()).not.toContain('Test account / test');
    for (const url of [`/console/keypairs/${created.keypair.clientId}`, `/console/environments/${tenant.environmentId}`, `/console/accounts/${tenant.accountId}`, '/console/operator/accounts']) {
      const response = await page.goto(`${kg.issuer}${url}`);
      expect(response!.status(), url).toBe(404);
      expect(await page.content()).not.toContain('not yours');
    }
    const csp = (await page.goto(`${kg.issuer}/console/`))!.headers()['content-security-policy'];
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");

    // A state change without the form's CSRF token is refused, and changes nothing.
    const forged = await page.request.post(`${kg.issuer}/console/keypairs/${created.keypair.clientId}/disable`, { form: { reason: 'forged' } });
    expect(forged.status()).toBe(403);

    // The same link again: used up.
    const again = await browser.newPage();
    await again.goto(link);
    await again.getByRole('button', { name: 'Sign in' }).click();
    expect(await again.getByRole('alert').textContent()).toContain('already used');
    await again.close();
    await context.close();
    expect((await kg.keygate.keypairs.getKeypair(created.keypair.clientId)).enabled).toBe(true);
  });

  it('gives operators accounts, environments, admins and resource servers', { timeout: 60_000 }, async () => {
    const page = await signIn(operator.email);
    await page.goto(`${kg.issuer}/console/operator/accounts`);
    await page.getByLabel('New account').fill('Console Co');
    await page.getByRole('button', { name: 'Create account' }).click();
    await expect.poll(() => page.getByRole('heading', { name: /Console Co/ }).count()).toBe(1);
    await check(page, '09-operator-accounts');

    await page.goto(`${kg.issuer}/console/operator/admins`);
    await page.getByLabel(/^Email/).fill('new.admin@example.test');
    await page.getByLabel('Admin of').selectOption({ label: `environment Test account / test` });
    await page.getByRole('button', { name: 'Grant' }).click();
    await expect.poll(() => page.locator('main table').textContent()).toContain('new.admin@example.test');
    await check(page, '10-operator-admins');

    await page.goto(`${kg.issuer}/console/operator/resource-servers`);
    await page.getByLabel(/^Identifier/).fill('not a uri');
    await page.getByLabel(/^Name/).fill('Console API');
    await page.getByRole('button', { name: 'Add resource server' }).click();
    expect(await page.getByRole('alert').textContent()).toContain('identifier');
    await page.getByLabel(/^Identifier/).fill('https://console-api.example.test/');
    await page.getByLabel(/^Name/).fill('Console API');
    await page.getByLabel(/^Scopes/).fill('reports:read Read reports\nreports:write Write reports');
    await page.getByRole('button', { name: 'Add resource server' }).click();
    await expect.poll(() => page.getByRole('heading', { name: 'Console API' }).count()).toBe(1);
    await check(page, '11-operator-resource-servers');
    await page.context().close();
  });
});
