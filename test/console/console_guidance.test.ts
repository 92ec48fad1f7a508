import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintConsoleLink } from '../../src/console/sign_in.js';
import { createUser, type TestUser } from '../support/admin.js';
import { createResourceServer, createTenant, startServedKeygate, type ServedKeygate, type Tenant } from '../support/keygate.js';
import { check, clipboardText, documentWidth, launchBrowser, SHOTS, signedInPage } from './browser.js';

/**
 * The console as issue 18 asks it to guide a newcomer: lists that use the width and
 * page past 100, a keypair page in tabs, copy buttons and working snippets after
 * create, dark mode, a not-found page that keeps the navigation, and every page at
 * 1280 and 360 px with axe clean.
 */
const BATCH = 101;

let kg: ServedKeygate;
let browser: Browser;
let busy: Tenant;
let empty: Tenant;
let admin: TestUser;
let operator: TestUser;
let apiIdentifier: string;
/** The admin's light-scheme page at 1280 px, shared by the tests that need nothing else (a sign-in each costs seconds). */
let adminPage: Page;

beforeAll(async () => {
  // More than a page of enabled keypairs in one environment: above the default cap of 50.
  kg = await startServedKeygate({ MAX_ACTIVE_KEYPAIRS: '500' });
  busy = await createTenant(kg.keygate);
  empty = await createTenant(kg.keygate);
  admin = await createUser(kg.keygate, { environments: [busy, empty].map(({ environmentId, accountId }) => ({ environmentId, accountId })) });
  operator = await createUser(kg.keygate, { operator: true });
  apiIdentifier = await createResourceServer(kg.keygate, ['reports']);
  // One second apart, so the list's order (creation time) is the numbering's.
  for (let index = 1; index <= BATCH; index += 1) {
    await kg.keygate.keypairs.createKeypair({ type: 'user', id: admin.id }, { owner: { environmentId: busy.environmentId }, name: `batch ${String(index).padStart(3, '0')}`, scopes: ['read'] });
    kg.clock.advance(1);
  }
  browser = await launchBrowser();
  adminPage = await signIn();
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await kg?.close();
});

async function signIn(options: { colorScheme?: 'light' | 'dark' } = {}, who: TestUser = admin): Promise<Page> {
  const link = await mintConsoleLink(kg.keygate.config, kg.keygate.keySet(), who.email, Math.floor(kg.clock.now().getTime() / 1000));
  return signedInPage(browser, kg.issuer, link, options);
}

const listUrl = (tenant: Tenant) => `${kg.issuer}/console/environments/${tenant.environmentId}`;
const rowNames = (page: Page) => page.locator('main table tbody tr td:first-child a').allTextContents();

/** How many line boxes each matching element takes: more than one means it wrapped. */
const lineBoxes = (page: Page, selector: string) => page.locator(selector).evaluateAll((elements) => elements.map((element) => element.getClientRects().length));

/** The computed background colour, in the page (the tests compile without the DOM's types). */
function backgroundOf(element: unknown): string {
  return (globalThis as unknown as { getComputedStyle(element: unknown): { backgroundColor: string } }).getComputedStyle(element).backgroundColor;
}

describe('console guidance (issue 18)', () => {
  it('lists use the width at 1280 px, page past 100 keeping the filters, and offer the first keypair when empty', { timeout: 60_000 }, async () => {
    const page = adminPage;
    await page.goto(listUrl(busy));
    const first = await rowNames(page);
    expect(first).toHaveLength(100);
    expect(first[0]).toBe('batch 001');
    // No id, hint or date broken over two lines, and the table fits its card.
    expect(new Set(await lineBoxes(page, 'main table tbody td code, main table tbody td time'))).toEqual(new Set([1]));
    const [scrolled, visible] = await page.locator('main section.card:has(table)').evaluate((card) => [card.scrollWidth, card.clientWidth]);
    expect(scrolled).toBeLessThanOrEqual(visible!);
    // "Create a keypair" is a primary button: filled with the accent colour.
    const create = page.getByRole('link', { name: 'Create a keypair' });
    expect(await create.evaluate(backgroundOf)).toBe('rgb(31, 95, 191)');

    await page.getByRole('link', { name: 'Next page' }).click();
    expect(await rowNames(page)).toEqual(['batch 101']);
    await check(page, '20-list-page-2');
    await page.getByRole('link', { name: 'Previous page' }).click();
    expect(await rowNames(page)).toEqual(first);

    // The filters travel with the pages.
    await page.getByLabel('State').selectOption('enabled');
    await page.getByLabel('Name contains').fill('batch');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.getByRole('link', { name: 'Next page' }).click();
    expect(new URL(page.url()).searchParams.get('q')).toBe('batch');
    expect(new URL(page.url()).searchParams.get('state')).toBe('enabled');
    expect(await rowNames(page)).toEqual(['batch 101']);

    // History pages the same way, its action filter kept; action labels stay on one line.
    await page.goto(`${listUrl(busy)}/history?action=keypair.created`);
    expect(await page.locator('main table tbody tr').count()).toBe(100);
    expect(new Set(await lineBoxes(page, 'main table tbody td code'))).toEqual(new Set([1]));
    await page.getByRole('link', { name: 'Next page' }).click();
    expect(new URL(page.url()).searchParams.get('action')).toBe('keypair.created');
    expect(await page.locator('main table tbody tr').count()).toBe(1);
    expect(await page.locator('main table tbody').textContent()).toContain('batch 001');

    await page.goto(listUrl(empty));
    const emptyState = page.locator('.empty');
    expect(await emptyState.textContent()).toContain('No keypairs here yet');
    expect(await emptyState.getByRole('link', { name: 'Create a keypair' }).getAttribute('href')).toBe(`/console/environments/${empty.environmentId}/keypairs/new`);
    await check(page, '21-list-empty');
  });

  it('the keypair page is in tabs, with relative times and a usage chart with hours and values', { timeout: 30_000 }, async () => {
    const created = await kg.keygate.keypairs.createKeypair({ type: 'user', id: admin.id }, { owner: { environmentId: empty.environmentId }, name: 'tabbed', scopes: ['read'] });
    const page = adminPage;
    await page.goto(`${kg.issuer}/console/keypairs/${created.keypair.clientId}`);
    const tabs = page.getByRole('navigation', { name: 'Sections of this keypair' });
    expect(await tabs.getByRole('link').allTextContents()).toEqual(['Overview', 'Grants', 'Usage', 'History', 'Settings']);
    expect(await tabs.getByRole('link', { name: 'Overview' }).getAttribute('aria-current')).toBe('page');
    // One section at a time: the settings' forms are not on the overview, which fits a screen.
    expect(await page.getByRole('button', { name: 'Delete keypair' }).count()).toBe(0);
    expect(await page.evaluate(() => (globalThis as unknown as { document: { documentElement: { scrollHeight: number } } }).document.documentElement.scrollHeight)).toBeLessThanOrEqual(900);
    const created_ = page.locator('dl.facts time').last();
    expect(await created_.textContent()).toBe('just now');
    const iso = created.keypair.createdAt.toISOString();
    expect(await created_.getAttribute('datetime')).toBe(iso);
    expect(await created_.getAttribute('title')).toBe(`${iso.slice(0, 16).replace('T', ' ')} UTC`);

    await tabs.getByRole('link', { name: 'Usage' }).click();
    const hours = await page.locator('svg.chart text.hour').allTextContents();
    expect(hours).toHaveLength(6);
    for (const hour of hours) expect(hour).toMatch(/^\d{2}:00$/);
    expect(await page.locator('svg.chart text:not(.hour)').allTextContents()).toContain('0');

    await check(page, '24-keypair-usage-empty');
    for (const tab of ['Grants', 'Settings'] as const) {
      await tabs.getByRole('link', { name: tab }).click();
      await check(page, `24-keypair-${tab.toLowerCase()}`);
    }

    await tabs.getByRole('link', { name: 'History' }).click();
    expect(await page.locator('main table').textContent()).toContain('keypair.created');
    kg.clock.advance(120);
    await page.reload();
    // The event's time is the database's; the page's "now" is Keygate's clock: the text is their difference.
    const latest = page.locator('main table tbody time').first();
    const minutes = Math.round((kg.clock.now().getTime() - Date.parse((await latest.getAttribute('datetime'))!)) / 60_000);
    expect(minutes).toBeGreaterThanOrEqual(2);
    expect(await latest.textContent()).toBe(`${minutes} min ago`);
    expect(await tabs.getByRole('link', { name: 'History' }).getAttribute('aria-current')).toBe('page');
    await check(page, '24-keypair-history');
  });

  it('after create: copy buttons for client_id, secret and curl, and snippets that work', { timeout: 30_000 }, async () => {
    const page = adminPage;
    await page.goto(`${listUrl(empty)}/keypairs/new`);
    await page.getByLabel('Name', { exact: false }).first().fill('snippets');
    await page.getByRole('group', { name: `(${apiIdentifier})` }).getByRole('checkbox', { name: /^reports/ }).check();
    await page.getByRole('button', { name: 'Create keypair' }).click();
    await page.waitForURL(/\/secret\//);
    const clientId = (await page.locator('#client-id').textContent())!;
    const secret = await page.locator('#secret').inputValue();
    const curl = (await page.locator('#curl').textContent())!;
    // Granted only at a resource server that is not the default: every snippet names it.
    expect(curl).toBe(`curl -s -u "${clientId}:${secret}" -d grant_type=client_credentials --data-urlencode resource=${apiIdentifier} ${kg.issuer}/token`);
    for (const [button, expected] of [['Copy client_id', clientId], ['Copy secret', secret], ['Copy curl', curl]] as const) {
      await page.getByRole('button', { name: button }).click();
      await expect.poll(() => clipboardText(page)).toBe(expected);
    }
    const node = (await page.locator('#snippet-node').textContent())!;
    await page.getByRole('button', { name: 'Copy Node.js code' }).click();
    await expect.poll(() => clipboardText(page)).toBe(node);
    expect(node).not.toContain(secret);
    expect(await page.locator('#snippet-python').textContent()).toContain(`"${kg.issuer}/token"`);
    const go = (await page.locator('#snippet-go').textContent())!;
    expect(go).toContain(`TokenURL:       "${kg.issuer}/token"`);
    expect(go).toContain(`EndpointParams: url.Values{"resource": {"${apiIdentifier}"}}`);
    expect(await page.locator('#snippet-verifier').textContent()).toContain(`audience: "${apiIdentifier}"`);
    await check(page, '23-secret-snippets');
    await page.setViewportSize({ width: 360, height: 800 });
    expect(await documentWidth(page)).toBeLessThanOrEqual(360);
    await page.screenshot({ path: path.join(SHOTS, '23-secret-snippets-360px.png'), fullPage: true });
    await page.setViewportSize({ width: 1280, height: 900 });
    expect((await page.reload())!.status()).toBe(410);
    await check(page, '25-secret-gone');

    // The Node snippet, as pasted, fetches a token for the resource server.
    const run = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', `${node}\nconsole.log(JSON.stringify({ access_token, expires_in }));`], {
      env: { ...process.env, KEYGATE_CLIENT_SECRET: secret },
    });
    const answer = JSON.parse(run.stdout) as { access_token: string; expires_in: number };
    const payload = JSON.parse(Buffer.from(answer.access_token.split('.')[1]!, 'base64url').toString()) as { aud: string; client_id: string };
    expect(payload).toMatchObject({ aud: apiIdentifier, client_id: clientId });
  });

  it('follows a dark colour scheme, with axe clean there too', { timeout: 60_000 }, async () => {
    const light = adminPage;
    const dark = await signIn({ colorScheme: 'dark' });
    expect(await light.locator('html').evaluate(backgroundOf)).toBe('rgb(246, 247, 249)');
    expect(await dark.locator('html').evaluate(backgroundOf)).toBe('rgb(16, 20, 27)');
    // Small pages (two rows, a short history): axe's time grows with the rows.
    const twoRows = `${listUrl(busy)}?q=batch+10`;
    const [clientId] = await dark.goto(twoRows).then(() => dark.locator('main table tbody code').first().allTextContents());
    for (const [name, url] of [['list', twoRows], ['history', `${listUrl(empty)}/history`], ['keypair', `${kg.issuer}/console/keypairs/${clientId}`], ['settings', `${kg.issuer}/console/keypairs/${clientId}?tab=settings`], ['create', `${listUrl(busy)}/keypairs/new`]]) {
      await dark.goto(url!);
      await check(dark, `30-dark-${name}`);
    }
    await dark.context().close();
  });

  it('keeps the header and navigation on the not-found page when signed in', { timeout: 30_000 }, async () => {
    const page = adminPage;
    for (const url of ['/console/no-such-page', '/console/keypairs/kp_doesnotexist']) {
      const response = await page.goto(`${kg.issuer}${url}`);
      expect(response!.status(), url).toBe(404);
      expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Not found');
      expect(await page.getByRole('navigation', { name: 'Accounts and environments' }).getByRole('link', { name: 'Overview' }).count()).toBe(1);
      expect(await page.locator('header.top').textContent()).toContain(admin.email);
      expect(await page.getByRole('button', { name: 'Sign out' }).count()).toBe(1);
    }
    await check(page, '40-not-found');
    // Signed out, the same page has neither (and names no one).
    const anonymous = await browser.newPage();
    expect((await anonymous.goto(`${kg.issuer}/console/no-such-page`))!.status()).toBe(404);
    expect(await anonymous.getByRole('navigation').count()).toBe(0);
    await anonymous.close();
  });

  it('every page at 360 px: no sideways scroll, axe clean, list rows as cards with the whole state badge', { timeout: 60_000 }, async () => {
    const page = adminPage;
    await page.setViewportSize({ width: 360, height: 800 });
    await page.goto(listUrl(busy));
    const keypair = `${kg.issuer}/console/keypairs/${(await page.locator('main table tbody code').first().textContent())!}`;
    const pages: Array<[string, string]> = [
      ['overview', `${kg.issuer}/console`],
      ['list', `${listUrl(busy)}?q=batch+10`],
      ['list-empty', listUrl(empty)],
      ['create-form', `${listUrl(busy)}/keypairs/new`],
      ['history', `${listUrl(empty)}/history`],
      ...(['overview', 'grants', 'usage', 'history', 'settings'] as const).map((tab): [string, string] => [`keypair-${tab}`, `${keypair}?tab=${tab}`]),
      ['not-found', `${kg.issuer}/console/no-such-page`],
      ['secret-gone', `${keypair}/secret/${'x'.repeat(22)}`],
    ];
    const visit = async (on: Page, name: string, url: string) => {
      await on.goto(url);
      expect(await documentWidth(on), name).toBeLessThanOrEqual(360);
      await check(on, `50-${name}-360px`);
    };
    for (const [name, url] of pages) await visit(page, name, url);

    // The list's rows as cards: every column's essentials on screen, the state badge whole.
    await page.goto(`${listUrl(busy)}?q=batch+10`);
    const row = page.locator('main table tbody tr').first();
    for (const label of ['Name', 'Credential', 'Grants', 'State', 'Last used', 'Expires']) {
      const box = (await row.locator(`td[data-label="${label}"]`).boundingBox())!;
      expect(box.width, label).toBeGreaterThan(0);
      expect(box.x + box.width, label).toBeLessThanOrEqual(360);
    }
    const badge = (await row.locator('.state').boundingBox())!;
    expect(badge.x + badge.width).toBeLessThanOrEqual(340);
    expect(await row.locator('.state').evaluate((element) => element.scrollWidth <= element.clientWidth)).toBe(true);
    const operatorPage = await signIn({}, operator);
    await operatorPage.setViewportSize({ width: 360, height: 800 });
    for (const area of ['accounts', 'admins', 'resource-servers']) await visit(operatorPage, `operator-${area}`, `${kg.issuer}/console/operator/${area}`);
    await visit(operatorPage, 'sign-in', `${kg.issuer}/console/sign-in`);
    await operatorPage.context().close();
  });
});
