import Router from '@koa/router';
import type { Knex } from 'knex';
import type { Context, Middleware, Next } from 'koa';
import compose from 'koa-compose';
import type { Authenticator } from '../access/authenticate.js';
import { canManageKeypairsOf, canSeeAccount, isOperator } from '../access/policy.js';
import { actorOf, type Principal } from '../access/principal.js';
import type { AuditHistory } from '../audit/query.js';
import { parseKeypairCreate, parseKeypairPatch, parseResourceServerCreate } from '../contract/parse.js';
import { unstorableText } from '../contract/text.js';
import type { KeypairService } from '../keypairs/service.js';
import { MAX_GRACE_PERIOD_SECONDS } from '../keypairs/service.js';
import type { Keypair } from '../keypairs/store.js';
import type { ResourceServerCatalog } from '../resource_servers/catalog.js';
import type { ResourceServerService } from '../resource_servers/service.js';
import { clientAddress } from '../shared/client_address.js';
import type { Clock } from '../shared/clock.js';
import { KeygateError, validationFailed, type FieldError } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import type { TenancyService } from '../tenancy/service.js';
import type { UsageReport } from '../usage/report.js';
import { CONSOLE_CSS, CONSOLE_JS } from './assets.js';
import { html, type Html } from './html.js';
import { csrfField, errorList, eventTable, grantChoices, grantList, grantsOfForm, keypairState, keypairTable, layout, secretPanel, usageSection, when, type NavAccount, type PageFrame } from './pages.js';
import { SecretViews, type SecretView } from './secret_view.js';
import { csrfMatches, signInOriginAllowed, type ConsoleSession, type ConsoleSignIn } from './sign_in.js';

export interface ConsoleDeps {
  readonly authenticator: Authenticator;
  readonly signIn: ConsoleSignIn;
  readonly keypairs: KeypairService;
  readonly tenancy: TenancyService;
  readonly resourceServers: ResourceServerService;
  readonly catalog: ResourceServerCatalog;
  readonly history: AuditHistory;
  readonly usage: UsageReport;
  readonly clock: Clock;
  /** Where new secrets wait, encrypted, for their one view (see secret_view.ts). */
  readonly db: Knex;
  readonly log: Logger;
  readonly issuer: string;
  readonly trustProxyHops: number;
}

const COOKIE = 'keygate_console';
/** Largest form the console reads: 64 KiB, as the admin API. */
const MAX_FORM_BYTES = 64 * 1024;

/**
 * Scripts and styles from /console/assets only, nothing inline, no frames, forms
 * posting back here alone: a page that somehow carried injected markup could still
 * run nothing.
 */
const CONTENT_SECURITY_POLICY = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

interface ConsoleState {
  principal: Principal;
  session: ConsoleSession;
}

/** Expiry choices of the create form: value to seconds (undefined: never, or the date given). */
const EXPIRY_CHOICES: ReadonlyArray<readonly [string, string]> = [
  ['1d', '1 day'],
  ['7d', '1 week'],
  ['30d', '1 month'],
  ['90d', '3 months'],
  ['custom', 'On a date'],
  ['never', 'Never'],
];

/** Rotate's grace choices; none is preselected, so the admin picks one on purpose. */
const GRACE_CHOICES: ReadonlyArray<readonly [number, string]> = [
  [0, 'None: the current secret stops working now'],
  [3600, '1 hour'],
  [86_400, '1 day'],
  [MAX_GRACE_PERIOD_SECONDS, '7 days'],
];

/**
 * The admin console, served at /console: server-rendered pages and plain forms (each
 * works without script), sessions from one-time sign-in links, a CSRF token in every
 * form. Who may see and do what is decided by access/policy.ts, the admin API's own
 * rules, and every change goes through the same services (and so the same audit
 * trail and notifications).
 */
export function consoleMiddleware(deps: ConsoleDeps): Middleware {
  const router = new Router({ prefix: '/console' });
  const { keypairs, tenancy, clock } = deps;
  const secretViews = new SecretViews({ db: deps.db, clock });

  router.get('/assets/console.css', (ctx) => {
    ctx.type = 'text/css; charset=utf-8';
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.body = CONSOLE_CSS;
  });
  router.get('/assets/console.js', (ctx) => {
    ctx.type = 'text/javascript; charset=utf-8';
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.body = CONSOLE_JS;
  });

  // Sign-in: the link's GET only shows a button, so a link preview or a scanner that
  // fetches the URL does not use up the one-time link; the POST exchanges it.
  router.get('/sign-in', (ctx) => {
    const token = typeof ctx.query.token === 'string' ? ctx.query.token : '';
    send(ctx, 200, layout(undefined, 'Sign in', token
      ? html`<section class="card"><p>Sign in to the Keygate console with this one-time link.</p>
          <form method="post" action="/console/sign-in"><input type="hidden" name="token" value="${token}"><button type="submit">Sign in</button></form></section>`
      : html`<section class="card"><p>Sign in with a one-time link. On the server, run:</p><pre>npx keygate console-link --operator</pre><p>or <code>npx keygate console-link --email you@example.com</code>, and open the link it prints within 10 minutes.</p></section>`));
  });

  router.post('/sign-in', async (ctx) => {
    if (!signInOriginAllowed(deps.issuer, { secFetchSite: ctx.get('Sec-Fetch-Site') || undefined, origin: ctx.get('Origin') || undefined })) {
      send(ctx, 403, layout(undefined, 'Sign-in refused', html`<section class="card"><p class="error" role="alert">This sign-in came from another site. Open your sign-in link directly.</p></section>`));
      return;
    }
    const form = await readForm(ctx);
    const email = await deps.signIn.redeemLink(form.get('token') ?? '');
    const principal = email === undefined ? undefined : await deps.authenticator.principalOf({ email }).catch(() => undefined);
    if (!principal) {
      send(ctx, 401, layout(undefined, 'Sign-in link not accepted', html`<section class="card"><p class="error" role="alert">This link has expired, was already used, or names no Keygate admin.</p><p>Ask for a new one: <code>npx keygate console-link --email you@example.com</code>.</p></section>`));
      return;
    }
    const { cookie, session } = await deps.signIn.startSession(principal.userId);
    setSessionCookie(ctx, deps.issuer, cookie, session.expiresAt);
    ctx.redirect('/console');
    ctx.status = 303;
  });

  // Everything below needs a session.
  router.use(async (ctx, next) => {
    if (ctx.path.startsWith('/console/assets/') || ctx.path === '/console/sign-in') return next();
    const session = await deps.signIn.findSession(ctx.cookies.get(COOKIE));
    const principal = session && (await deps.authenticator.principalOf({ userId: session.userId }).catch(() => undefined));
    if (!session || !principal) {
      if (ctx.method === 'GET') {
        ctx.redirect('/console/sign-in');
        return;
      }
      send(ctx, 401, layout(undefined, 'Signed out', html`<section class="card"><p>Your session has ended. <a href="/console/sign-in">Sign in again</a>.</p></section>`));
      return;
    }
    Object.assign(ctx.state, { principal, session } satisfies ConsoleState);
    if (ctx.method === 'POST') {
      const form = await readForm(ctx);
      if (!csrfMatches(session, form.get('_csrf') ?? undefined)) {
        send(ctx, 403, layout(undefined, 'Form expired', html`<section class="card"><p class="error" role="alert">This form is from another session. Go back, reload the page and try again.</p></section>`));
        return;
      }
      ctx.state.form = form;
    }
    return next();
  });

  router.post('/sign-out', async (ctx) => {
    await deps.signIn.endSession(ctx.cookies.get(COOKIE));
    setSessionCookie(ctx, deps.issuer, '', new Date(0));
    seeOther(ctx, '/console/sign-in');
  });

  router.get('/', async (ctx) => {
    const frame = await frameOf(ctx);
    const body = frame.nav.length === 0
      ? html`<section class="card"><p>You administer nothing yet.</p></section>`
      : html`${frame.nav.map((entry) => html`<section class="card"><h2>${entry.account.name}</h2>
          ${entry.canOpenAccount ? html`<p><a href="/console/accounts/${entry.account.id}">Account-level keypairs and history</a></p>` : ''}
          ${entry.environments.length === 0 ? html`<p>No environments.</p>` : html`<ul>${entry.environments.map((environment) => html`<li><a href="/console/environments/${environment.id}">${environment.name}</a></li>`)}</ul>`}</section>`)}`;
    send(ctx, 200, layout(frame, 'Overview', body));
  });

  /** The owner a path names, if the caller may manage its keypairs; otherwise a 404. */
  async function ownerOf(ctx: Context): Promise<{ accountId: string; environmentId: string | null; title: string; base: string }> {
    const principal = principalOf(ctx);
    if (ctx.params.accountId !== undefined) {
      const account = await tenancy.findAccount(ctx.params.accountId);
      if (!account || account.status !== 'active' || !canManageKeypairsOf(principal, { accountId: account.id, environmentId: null })) throw new KeygateError('not_found', 'Account not found.');
      return { accountId: account.id, environmentId: null, title: `${account.name}: account-level keypairs`, base: `/console/accounts/${account.id}` };
    }
    const environment = await tenancy.findEnvironment(ctx.params.environmentId ?? '');
    const account = environment && (await tenancy.findAccount(environment.accountId));
    if (!environment || !account || environment.status !== 'active' || account.status !== 'active' || !canManageKeypairsOf(principal, { accountId: account.id, environmentId: environment.id })) {
      throw new KeygateError('not_found', 'Environment not found.');
    }
    return { accountId: account.id, environmentId: environment.id, title: `${account.name} / ${environment.name}`, base: `/console/environments/${environment.id}` };
  }

  async function listPage(ctx: Context) {
    const owner = await ownerOf(ctx);
    const frame = await frameOf(ctx);
    const state = ctx.query.state === 'enabled' || ctx.query.state === 'disabled' ? ctx.query.state : 'all';
    const q = typeof ctx.query.q === 'string' ? ctx.query.q.slice(0, 100) : '';
    const list = await keypairs.listKeypairs(owner, { enabled: state === 'all' ? undefined : state === 'enabled', q: q || undefined, limit: 100 });
    const environments = owner.environmentId === null ? (await tenancy.listEnvironments(owner.accountId)).filter((environment) => environment.status === 'active') : [];
    const deleted = typeof ctx.query.deleted === 'string' && /^kp_[0-9A-Za-z]{1,40}$/.test(ctx.query.deleted) ? ctx.query.deleted : undefined;
    send(ctx, 200, layout(frame, owner.title, html`
      ${deleted ? html`<p class="notice" role="status">Keypair <code>${deleted}</code> is deleted; its history stays.</p>` : ''}
      <section class="card">
        <p><a href="${owner.base}/keypairs/new">Create a keypair</a> · <a href="${owner.base}/history">Credential history</a></p>
        <form class="inline" method="get" action="${owner.base}" role="search">
          <div><label for="filter-state">State</label><select id="filter-state" name="state">
            ${(['all', 'enabled', 'disabled'] as const).map((value) => html`<option value="${value}"${state === value ? html` selected` : ''}>${value}</option>`)}</select></div>
          <div><label for="filter-q">Name contains</label><input type="search" id="filter-q" name="q" value="${q}"></div>
          <div><button type="submit" class="secondary">Filter</button></div>
        </form>
      </section>
      <section class="card" aria-labelledby="keypairs-heading">
        <h2 id="keypairs-heading">${owner.environmentId === null ? 'Account-level keypairs' : 'Environment keypairs'}</h2>
        ${keypairTable(list, await creatorsOf(list), clock.now(), owner.environmentId === null ? 'Account-level keypairs' : 'Environment keypairs')}
        ${list.length === 100 ? html`<p class="hint">The first 100 are shown; narrow the search to find others.</p>` : ''}
      </section>
      ${owner.environmentId === null
        ? html`<section class="card"><h2>Environments of this account</h2>${environments.length === 0 ? html`<p>None.</p>` : html`<ul>${environments.map((environment) => html`<li><a href="/console/environments/${environment.id}">${environment.name}</a></li>`)}</ul>`}<p class="hint">Their keypairs are listed on their own pages.</p></section>`
        : ''}`));
  }

  /** Emails of the users who created these keypairs ("system" and unknown ids stay as they are). */
  async function creatorsOf(list: readonly Keypair[]): Promise<Map<string, string>> {
    const creators = new Map<string, string>();
    for (const id of new Set(list.map((keypair) => keypair.createdBy))) {
      const user = id.startsWith('usr_') ? await tenancy.findUser(id) : undefined;
      if (user) creators.set(id, user.name ? `${user.name} (${user.email})` : user.email);
    }
    return creators;
  }

  function createForm(frame: PageFrame, owner: { accountId: string; base: string }, values: URLSearchParams | undefined, errors: readonly FieldError[]): Html {
    const value = (name: string, fallback = '') => values?.get(name) ?? fallback;
    const expiry = value('expiry', 'never');
    const checked = new Set(values?.getAll('grant') ?? []);
    return html`${errorList(errors)}
      <form method="post" action="${owner.base}/keypairs/new" class="card" aria-describedby="${errors.length > 0 ? 'form-errors' : ''}">
        ${csrfField(frame)}
        <section class="card">
        <label for="name">Name <span class="hint">(1 to 100 characters)</span></label><input type="text" id="name" name="name" required maxlength="100" value="${value('name')}">
        <label for="comment">Comment <span class="hint">(what it is for, who owns it)</span></label><textarea id="comment" name="comment" maxlength="1000">${value('comment')}</textarea>
        <fieldset><legend>Expires</legend>
          ${EXPIRY_CHOICES.map(([choice, label]) => html`<div class="choice"><input type="radio" id="expiry-${choice}" name="expiry" value="${choice}"${expiry === choice ? html` checked` : ''}><label class="choice-label" for="expiry-${choice}">${label}</label></div>`)}
          <label for="expiry-date">Date <span class="hint">(with "On a date": the keypair stops working at the end of that day, UTC)</span></label><input type="date" id="expiry-date" name="expiryDate" value="${value('expiryDate')}">
        </fieldset>
        <h2>Grants</h2>
        ${grantChoices(deps.resourceServers.list(new Set([owner.accountId])), checked, 'grant')}
        <h2>Guards</h2>
        <label for="rate-limit">Rate limit, token requests per minute <span class="hint">(60 to 1000; empty: the server default)</span></label><input type="number" id="rate-limit" name="rateLimitPerMinute" min="60" max="1000" value="${value('rateLimitPerMinute')}">
        <label for="allowed-ips">Allowed IP addresses <span class="hint">(one address or CIDR range per line, such as 203.0.113.0/24; empty: anywhere)</span></label><textarea id="allowed-ips" name="allowedIps">${value('allowedIps')}</textarea>
        <label for="auto-disable">Disable automatically on sustained failures</label><select id="auto-disable" name="autoDisable">
          ${[['default', 'Server default'], ['true', 'Yes'], ['false', 'No']].map(([choice, label]) => html`<option value="${choice}"${value('autoDisable', 'default') === choice ? html` selected` : ''}>${label}</option>`)}</select>
        <p><button type="submit">Create keypair</button></p>
        </section>
      </form>`;
  }

  /** The create form's fields as the admin API's JSON body, so its checks apply unchanged. */
  function createBody(form: URLSearchParams): Record<string, unknown> {
    const expiry = form.get('expiry') ?? 'never';
    const date = form.get('expiryDate') ?? '';
    return {
      name: form.get('name') ?? '',
      comment: form.get('comment') ?? '',
      grants: grantsOfForm(form),
      ...(['1d', '7d', '30d', '90d'].includes(expiry) && { expiresIn: expiry }),
      ...(expiry === 'custom' && { expiresAt: /^\d{4}-\d{2}-\d{2}$/.test(date) ? `${date}T23:59:59Z` : date || 'a date' }),
      ...guardFields(form),
    };
  }

  async function newPage(ctx: Context) {
    const owner = await ownerOf(ctx);
    const frame = await frameOf(ctx);
    send(ctx, 200, layout(frame, `New keypair in ${owner.title}`, createForm(frame, owner, undefined, [])));
  }

  async function createKeypair(ctx: Context) {
    const owner = await ownerOf(ctx);
    const frame = await frameOf(ctx);
    const form = formOf(ctx);
    try {
      const input = parseKeypairCreate(keypairs, createBody(form), clock.now(), owner.accountId);
      const created = await keypairs.createKeypair(actorFor(ctx), { owner: owner.environmentId === null ? { accountId: owner.accountId } : { environmentId: owner.environmentId }, ...input });
      await showSecretOnce(ctx, { clientId: created.keypair.clientId, clientSecret: created.clientSecret, title: `Keypair ${created.keypair.name} created`, verb: 'Created' });
    } catch (error) {
      const errors = fieldErrorsOf(error);
      send(ctx, errors[0]?.field === '(limit)' ? 409 : 400, layout(frame, `New keypair in ${owner.title}`, createForm(frame, owner, form, errors)));
    }
  }

  router.get('/accounts/:accountId', listPage);
  router.get('/environments/:environmentId', listPage);
  router.get('/accounts/:accountId/keypairs/new', newPage);
  router.get('/environments/:environmentId/keypairs/new', newPage);
  router.post('/accounts/:accountId/keypairs/new', createKeypair);
  router.post('/environments/:environmentId/keypairs/new', createKeypair);

  /** The keypair, if the caller may manage it; otherwise it does not exist for the caller. */
  async function reachableKeypair(ctx: Context): Promise<Keypair> {
    const keypair = await keypairs.getKeypair(ctx.params.clientId ?? '').catch(() => undefined);
    if (!keypair || !canManageKeypairsOf(principalOf(ctx), keypair)) throw new KeygateError('not_found', 'Keypair not found.');
    return keypair;
  }

  async function keypairPage(ctx: Context, keypair: Keypair, notice: Html | undefined, errors: readonly FieldError[], status = 200) {
    const frame = await frameOf(ctx);
    const [summary, events] = await Promise.all([deps.usage.summary(keypair.clientId), deps.history.list({ targetId: keypair.clientId }, { limit: 20 })]);
    const owner = keypair.environmentId === null ? `/console/accounts/${keypair.accountId}` : `/console/environments/${keypair.environmentId}`;
    const base = `/console/keypairs/${keypair.clientId}`;
    send(ctx, status, layout(frame, `Keypair ${keypair.name}`, html`
      ${notice ? html`<p class="notice" role="status">${notice}</p>` : ''}
      ${errorList(errors)}
      <section class="card" aria-labelledby="facts-heading">
        <h2 id="facts-heading">Details</h2>
        <dl class="facts">
          <dt>client_id</dt><dd><code>${keypair.clientId}</code></dd>
          <dt>State</dt><dd>${keypairState(keypair, clock.now())}${keypair.disabledReason ? html` (${keypair.disabledReason})` : ''}</dd>
          <dt>Secret</dt><dd><code>${keypair.secretHint ?? ''}</code></dd>
          <dt>Grants</dt><dd>${grantList(keypair.grants)}</dd>
          <dt>Last used</dt><dd>${when(keypair.lastUsedAt)}</dd>
          <dt>Expires</dt><dd>${when(keypair.expiresAt)}</dd>
          <dt>Rate limit</dt><dd>${keypair.rateLimitPerMinute === null ? 'server default' : `${keypair.rateLimitPerMinute} per minute`}</dd>
          <dt>Allowed IPs</dt><dd>${keypair.allowedIps.length > 0 ? keypair.allowedIps.join(', ') : 'anywhere'}</dd>
          <dt>Created</dt><dd>${when(keypair.createdAt)}</dd>
        </dl>
        <p><a href="${owner}">Back to the list</a></p>
      </section>
      <section class="card" aria-labelledby="edit-heading">
        <h2 id="edit-heading">Comment and grants</h2>
        <form method="post" action="${base}/update">${csrfField(frame)}
          <label for="edit-comment">Comment</label><textarea id="edit-comment" name="comment" maxlength="1000">${keypair.comment}</textarea>
          ${grantChoices(deps.resourceServers.list(new Set([keypair.accountId])), new Set(keypair.grants.flatMap((grant) => grant.scopes.map((scope) => `${scope} ${grant.resourceServer}`))), 'edit-grant')}
          <button type="submit">Save</button>
        </form>
      </section>
      <section class="card" aria-labelledby="state-heading">
        <h2 id="state-heading">${keypair.enabled ? 'Disable' : 'Enable'}</h2>
        ${keypair.enabled
          ? html`<form method="post" action="${base}/disable">${csrfField(frame)}
              <label for="disable-reason">Reason <span class="hint">(kept with the keypair and in the history)</span></label><input type="text" id="disable-reason" name="reason" maxlength="500">
              <div class="choice"><input type="checkbox" id="disable-confirm" name="confirm" value="yes" required><label class="choice-label" for="disable-confirm">Yes, refuse token requests with <strong>${keypair.name}</strong> from now on</label></div>
              <p><button type="submit" class="danger">Disable keypair</button></p></form>
              <p class="hint">Token requests are refused from the next one on; tokens already issued stop passing resource servers that check the status list.</p>`
          : html`<form method="post" action="${base}/enable">${csrfField(frame)}<button type="submit">Enable keypair</button></form>`}
      </section>
      <section class="card" aria-labelledby="rotate-heading">
        <h2 id="rotate-heading">Rotate the secret</h2>
        <form method="post" action="${base}/rotate">${csrfField(frame)}
          <fieldset><legend>Keep the current secret working for</legend>
            ${GRACE_CHOICES.map(([seconds, label]) => html`<div class="choice"><input type="radio" id="grace-${seconds}" name="gracePeriodSeconds" value="${seconds}" required><label class="choice-label" for="grace-${seconds}">${label}</label></div>`)}
          </fieldset>
          <div class="choice"><input type="checkbox" id="rotate-confirm" name="confirm" value="yes" required><label class="choice-label" for="rotate-confirm">Yes, make a new secret for <strong>${keypair.name}</strong>; the current one stops working when the period chosen ends</label></div>
          <p><button type="submit">Rotate secret</button></p></form>
      </section>
      ${usageSection(summary)}
      <section class="card" aria-labelledby="history-heading">
        <h2 id="history-heading">History</h2>
        ${eventTable(events, new Map([[keypair.clientId, keypair.name]]))}
      </section>
      <section class="card" aria-labelledby="delete-heading">
        <h2 id="delete-heading">Delete</h2>
        <p>Deleting <strong>${keypair.name}</strong> is final: every token request with it is refused from the next one on, and it cannot be restored. Its history stays.</p>
        <form method="post" action="${base}/delete" class="inline">${csrfField(frame)}
          <div><label for="confirm-name">Type the keypair's name to confirm</label><input type="text" id="confirm-name" name="confirmName" autocomplete="off" data-confirm-name="${keypair.name}" data-confirm-button="delete-button"></div>
          <div><button type="submit" class="danger" id="delete-button">Delete keypair</button></div></form>
      </section>`));
  }

  router.get('/keypairs/:clientId', async (ctx) => {
    const done = typeof ctx.query.done === 'string' && Object.hasOwn(DONE_NOTICES, ctx.query.done) ? DONE_NOTICES[ctx.query.done as keyof typeof DONE_NOTICES] : undefined;
    await keypairPage(ctx, await reachableKeypair(ctx), done === undefined ? undefined : html`${done}`, []);
  });

  /**
   * A change through the admin API's own checks: done, a 303 to the keypair's page (so a
   * reload repeats nothing); refused, the page again with its errors.
   */
  async function change(ctx: Context, apply: (keypair: Keypair, form: URLSearchParams) => Promise<keyof typeof DONE_NOTICES>) {
    const keypair = await reachableKeypair(ctx);
    try {
      const done = await apply(keypair, formOf(ctx));
      seeOther(ctx, `/console/keypairs/${keypair.clientId}?done=${done}`);
    } catch (error) {
      const errors = fieldErrorsOf(error);
      await keypairPage(ctx, keypair, undefined, errors, errors[0]?.field === '(limit)' ? 409 : 400);
    }
  }

  router.post('/keypairs/:clientId/update', (ctx) =>
    change(ctx, async (keypair, form) => {
      await keypairs.updateKeypair(actorFor(ctx), keypair.clientId, parseKeypairPatch(keypairs, { comment: form.get('comment') ?? '', grants: grantsOfForm(form) }, keypair.accountId));
      return 'saved';
    }),
  );
  router.post('/keypairs/:clientId/disable', (ctx) =>
    change(ctx, async (keypair, form) => {
      if (form.get('confirm') !== 'yes') throw validationFailed([{ field: 'confirm', message: 'tick the box to confirm that token requests with this keypair are to be refused' }]);
      const reason = form.get('reason')?.trim();
      await keypairs.updateKeypair(actorFor(ctx), keypair.clientId, parseKeypairPatch(keypairs, { enabled: false, ...(reason && { disabledReason: reason }) }, keypair.accountId));
      return 'disabled';
    }),
  );
  router.post('/keypairs/:clientId/enable', (ctx) =>
    change(ctx, async (keypair) => {
      await keypairs.updateKeypair(actorFor(ctx), keypair.clientId, parseKeypairPatch(keypairs, { enabled: true }, keypair.accountId));
      return 'enabled';
    }),
  );
  router.post('/keypairs/:clientId/rotate', async (ctx) => {
    const keypair = await reachableKeypair(ctx);
    const form = formOf(ctx);
    const chosen = form.get('gracePeriodSeconds') ?? '';
    const grace = GRACE_CHOICES.find(([seconds]) => String(seconds) === chosen)?.[0];
    const errors: FieldError[] = [
      ...(grace === undefined ? [{ field: 'gracePeriodSeconds', message: chosen === '' ? 'choose how long the current secret keeps working' : 'pick one of the offered grace periods' }] : []),
      ...(form.get('confirm') !== 'yes' ? [{ field: 'confirm', message: 'tick the box to confirm the rotation' }] : []),
    ];
    if (errors.length > 0) {
      await keypairPage(ctx, keypair, undefined, errors, 400);
      return;
    }
    const rotated = await keypairs.rotateSecret(actorFor(ctx), keypair.clientId, grace!);
    const verb = grace! > 0 ? `Rotated; the previous secret works ${GRACE_CHOICES.find(([seconds]) => seconds === grace)![1]} more` : 'Rotated; the previous secret no longer works';
    await showSecretOnce(ctx, { clientId: rotated.keypair.clientId, clientSecret: rotated.clientSecret, title: `Keypair ${keypair.name} rotated`, verb });
  });

  /** Keeps a new secret for one view by this session, and sends the browser to it. */
  async function showSecretOnce(ctx: Context, view: SecretView) {
    const id = await secretViews.put(ctx.cookies.get(COOKIE)!, view);
    seeOther(ctx, `/console/keypairs/${view.clientId}/secret/${id}`);
  }

  // The one view of a new secret; a reload (or any later visit) finds it gone.
  router.get('/keypairs/:clientId/secret/:viewId', async (ctx) => {
    const keypair = await reachableKeypair(ctx);
    const view = await secretViews.take(ctx.cookies.get(COOKIE)!, ctx.params.viewId ?? '', keypair.clientId);
    const frame = await frameOf(ctx);
    if (!view) {
      send(ctx, 410, layout(frame, 'The secret was shown once', html`<section class="card"><p role="status">This secret was shown once and is not kept: it cannot be shown again. If it was not copied, rotate the secret to get a new one.</p>
        <p><a href="/console/keypairs/${keypair.clientId}">Go to the keypair</a></p></section>`));
      return;
    }
    send(ctx, 200, layout(frame, view.title, secretPanel(keypair, view.clientSecret, deps.issuer, view.verb)));
  });
  router.post('/keypairs/:clientId/delete', async (ctx) => {
    const keypair = await reachableKeypair(ctx);
    if (formOf(ctx).get('confirmName') !== keypair.name) {
      await keypairPage(ctx, keypair, undefined, [{ field: 'confirmName', message: `type the keypair's name, ${keypair.name}, to delete it` }], 400);
      return;
    }
    await keypairs.deleteKeypair(actorFor(ctx), keypair.clientId);
    const owner = keypair.environmentId === null ? `/console/accounts/${keypair.accountId}` : `/console/environments/${keypair.environmentId}`;
    seeOther(ctx, `${owner}?deleted=${keypair.clientId}`);
  });

  async function historyPage(ctx: Context) {
    const owner = await ownerOf(ctx);
    const frame = await frameOf(ctx);
    const action = typeof ctx.query.action === 'string' && /^[a-z_.]{1,60}$/.test(ctx.query.action) ? ctx.query.action : '';
    const day = (value: unknown) => (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value) && !Number.isNaN(Date.parse(value)) ? value : '');
    const from = day(ctx.query.from);
    const to = day(ctx.query.to);
    const events = await deps.history.list(
      {
        ...(owner.environmentId === null ? { accountId: owner.accountId } : { environmentId: owner.environmentId }),
        action: action || undefined,
        from: from ? new Date(`${from}T00:00:00Z`) : undefined,
        to: to ? new Date(Date.parse(`${to}T00:00:00Z`) + 86_400_000) : undefined,
      },
      { limit: 100 },
    );
    const actions = ['keypair.created', 'keypair.updated', 'keypair.disabled', 'keypair.enabled', 'keypair.rotated', 'keypair.deleted'];
    send(ctx, 200, layout(frame, `Credential history: ${owner.title}`, html`
      <section class="card">
        <form class="inline" method="get" action="${owner.base}/history" role="search">
          <div><label for="history-action">Action</label><select id="history-action" name="action"><option value="">any</option>
            ${actions.map((value) => html`<option value="${value}"${action === value ? html` selected` : ''}>${value}</option>`)}</select></div>
          <div><label for="history-from">From</label><input type="date" id="history-from" name="from" value="${from}"></div>
          <div><label for="history-to">To</label><input type="date" id="history-to" name="to" value="${to}"></div>
          <div><button type="submit" class="secondary">Filter</button></div>
        </form>
      </section>
      <section class="card">${eventTable(events, new Map())}${events.length === 100 ? html`<p class="hint">The latest 100 are shown; narrow the filter for older ones.</p>` : ''}</section>`));
  }
  router.get('/accounts/:accountId/history', historyPage);
  router.get('/environments/:environmentId/history', historyPage);

  // Operators: accounts and environments, admins, resource servers.
  router.use('/operator', async (ctx, next) => {
    if (!isOperator(principalOf(ctx))) throw new KeygateError('not_found', 'Not found.');
    await next();
  });

  async function accountsPage(ctx: Context, errors: readonly FieldError[] = [], status = 200) {
    const frame = await frameOf(ctx);
    const accounts = (await tenancy.listAccounts()).filter((account) => account.status === 'active');
    const sections = await Promise.all(
      accounts.map(async (account) => {
        const environments = (await tenancy.listEnvironments(account.id)).filter((environment) => environment.status === 'active');
        return html`<section class="card"><h2><a href="/console/accounts/${account.id}">${account.name}</a> <code>${account.id}</code></h2>
          <ul>${environments.map((environment) => html`<li><a href="/console/environments/${environment.id}">${environment.name}</a> <code>${environment.id}</code></li>`)}</ul>
          <form method="post" action="/console/operator/accounts/${account.id}/environments" class="inline">${csrfField(frame)}
            <div><label for="env-${account.id}">New environment</label><input type="text" id="env-${account.id}" name="name" maxlength="100" required></div>
            <div><button type="submit" class="secondary">Add environment</button></div></form></section>`;
      }),
    );
    send(ctx, status, layout(frame, 'Accounts and environments', html`${errorList(errors)}
      <section class="card"><form method="post" action="/console/operator/accounts" class="inline">${csrfField(frame)}
        <div><label for="account-name">New account</label><input type="text" id="account-name" name="name" maxlength="100" required></div>
        <div><button type="submit">Create account</button></div></form></section>
      ${sections}`));
  }
  router.get('/operator/accounts', (ctx) => accountsPage(ctx));
  router.post('/operator/accounts', async (ctx) => {
    const name = (formOf(ctx).get('name') ?? '').trim();
    if (name.length < 1 || name.length > 100) return accountsPage(ctx, [{ field: 'name', message: 'must be 1 to 100 characters' }], 400);
    await tenancy.createAccount(actorFor(ctx), name);
    ctx.redirect('/console/operator/accounts');
    ctx.status = 303;
  });
  router.post('/operator/accounts/:accountId/environments', async (ctx) => {
    const name = (formOf(ctx).get('name') ?? '').trim();
    if (name.length < 1 || name.length > 100) return accountsPage(ctx, [{ field: 'name', message: 'must be 1 to 100 characters' }], 400);
    const account = await tenancy.findAccount(ctx.params.accountId!);
    if (!account || account.status !== 'active') throw new KeygateError('not_found', 'Account not found.');
    await tenancy.createEnvironment(actorFor(ctx), account.id, name);
    ctx.redirect('/console/operator/accounts');
    ctx.status = 303;
  });

  async function adminsPage(ctx: Context, errors: readonly FieldError[] = [], status = 200) {
    const frame = await frameOf(ctx);
    const users = await tenancy.listUsers();
    const accounts = (await tenancy.listAccounts()).filter((account) => account.status === 'active');
    const scopes: Array<{ value: string; label: string }> = [];
    for (const account of accounts) {
      scopes.push({ value: `account:${account.id}`, label: `account ${account.name}` });
      for (const environment of (await tenancy.listEnvironments(account.id)).filter((candidate) => candidate.status === 'active')) {
        scopes.push({ value: `environment:${environment.id}`, label: `environment ${account.name} / ${environment.name}` });
      }
    }
    const rows = await Promise.all(
      users.map(async (user) => {
        const grants = await tenancy.membershipsOf(user.id);
        const labels = grants.map((grant) => scopes.find((scope) => scope.value === (grant.environmentId ? `environment:${grant.environmentId}` : `account:${grant.accountId}`))?.label ?? 'closed');
        return html`<tr><td>${user.name}</td><td>${user.email}</td><td>${user.isOperator ? 'operator' : ''}</td><td>${labels.join('; ')}</td></tr>`;
      }),
    );
    send(ctx, status, layout(frame, 'Admins', html`${errorList(errors)}
      <section class="card"><table><thead><tr><th scope="col">Name</th><th scope="col">Email</th><th scope="col">Role</th><th scope="col">Admin of</th></tr></thead><tbody>${rows}</tbody></table></section>
      <section class="card"><h2>Make someone an admin</h2>
        <form method="post" action="/console/operator/admins">${csrfField(frame)}
          <label for="admin-email">Email <span class="hint">(a new user is created when none has it)</span></label><input type="email" id="admin-email" name="email" required maxlength="254">
          <label for="admin-name">Name</label><input type="text" id="admin-name" name="name" maxlength="100">
          <label for="admin-scope">Admin of</label><select id="admin-scope" name="scope">${scopes.map((scope) => html`<option value="${scope.value}">${scope.label}</option>`)}</select>
          <p><button type="submit">Grant</button></p></form></section>`));
  }
  router.get('/operator/admins', (ctx) => adminsPage(ctx));
  router.post('/operator/admins', async (ctx) => {
    const form = formOf(ctx);
    const email = (form.get('email') ?? '').trim().toLowerCase();
    const [kind, id] = (form.get('scope') ?? '').split(':');
    if (!/^[^@\s]+@[^@\s]+$/.test(email) || email.length > 254) return adminsPage(ctx, [{ field: 'email', message: 'must be an email address' }], 400);
    const environment = kind === 'environment' ? await tenancy.findEnvironment(id ?? '') : undefined;
    const account = await tenancy.findAccount(kind === 'account' ? (id ?? '') : (environment?.accountId ?? ''));
    if (!account || account.status !== 'active' || (kind === 'environment' && environment?.status !== 'active')) return adminsPage(ctx, [{ field: 'scope', message: 'pick an account or environment' }], 400);
    const existing = (await tenancy.listUsers()).find((user) => user.email === email);
    const user = existing ?? (await tenancy.createUser(actorFor(ctx), { email, name: (form.get('name') ?? '').trim().slice(0, 100), isOperator: false }));
    await tenancy.grantAdmin(actorFor(ctx), user.id, environment ? { environmentId: environment.id, accountId: account.id } : { accountId: account.id });
    ctx.redirect('/console/operator/admins');
    ctx.status = 303;
  });

  async function resourceServersPage(ctx: Context, errors: readonly FieldError[] = [], status = 200, form?: URLSearchParams) {
    const frame = await frameOf(ctx);
    const servers = deps.catalog.all();
    send(ctx, status, layout(frame, 'Resource servers', html`${errorList(errors)}
      ${servers.map((server) => html`<section class="card"><h2>${server.name}${server.isDefault ? ' (default)' : ''}</h2>
        <dl class="facts"><dt>Identifier (aud)</dt><dd><code>${server.identifier}</code></dd><dt>Token lifetime</dt><dd>${server.accessTokenTtl} seconds</dd><dt>Available to</dt><dd>${server.availableTo === null ? 'every account' : server.availableTo.join(', ') || 'no account'}</dd></dl>
        <table><thead><tr><th scope="col">Scope</th><th scope="col">Description</th></tr></thead><tbody>${server.scopes.map((scope) => html`<tr><td><code>${scope.name}</code></td><td>${scope.description}</td></tr>`)}</tbody></table></section>`)}
      <section class="card"><h2>Add a resource server</h2>
        <form method="post" action="/console/operator/resource-servers">${csrfField(frame)}
          <label for="rs-identifier">Identifier <span class="hint">(an absolute URI: the tokens' aud)</span></label><input type="text" id="rs-identifier" name="identifier" required value="${form?.get('identifier') ?? ''}">
          <label for="rs-name">Name</label><input type="text" id="rs-name" name="name" required maxlength="100" value="${form?.get('name') ?? ''}">
          <label for="rs-scopes">Scopes <span class="hint">(one per line: name, then a space and its description)</span></label><textarea id="rs-scopes" name="scopes">${form?.get('scopes') ?? ''}</textarea>
          <label for="rs-ttl">Token lifetime in seconds <span class="hint">(60 to 86400)</span></label><input type="number" id="rs-ttl" name="accessTokenTtl" min="60" max="86400" value="${form?.get('accessTokenTtl') ?? '300'}">
          <p><button type="submit">Add resource server</button></p></form></section>`));
  }
  router.get('/operator/resource-servers', (ctx) => resourceServersPage(ctx));
  router.post('/operator/resource-servers', async (ctx) => {
    const form = formOf(ctx);
    const scopes = (form.get('scopes') ?? '')
      .split('\n')
      .map((line) => line.trim())
      .filter(Boolean)
      .map((line) => {
        const [name = '', ...description] = line.split(/\s+/);
        return { name, description: description.join(' ') };
      });
    try {
      const ttl = (form.get('accessTokenTtl') ?? '').trim();
      const input = parseResourceServerCreate({ identifier: (form.get('identifier') ?? '').trim(), name: form.get('name') ?? '', scopes, ...(ttl && { accessTokenTtl: /^\d+$/.test(ttl) ? Number(ttl) : ttl }) });
      await deps.resourceServers.create(actorFor(ctx), input);
    } catch (error) {
      return resourceServersPage(ctx, fieldErrorsOf(error), 400, form);
    }
    ctx.redirect('/console/operator/resource-servers');
    ctx.status = 303;
  });

  /** Navigation: what the admin reaches, as access/policy.ts decides. */
  async function frameOf(ctx: Context): Promise<PageFrame> {
    const { principal, session } = ctx.state as ConsoleState;
    const accountIds = principal.isOperator
      ? (await tenancy.listAccounts()).filter((account) => account.status === 'active').map((account) => account.id)
      : [...new Set([...principal.accountAdminOf, ...principal.environmentAdminOf.values()])];
    const nav: NavAccount[] = [];
    for (const accountId of accountIds) {
      const account = await tenancy.findAccount(accountId);
      if (!account || account.status !== 'active') continue;
      const environments = (await tenancy.listEnvironments(accountId)).filter(
        (environment) => environment.status === 'active' && canManageKeypairsOf(principal, { accountId, environmentId: environment.id }),
      );
      nav.push({ account, canOpenAccount: canSeeAccount(principal, accountId), environments });
    }
    return { principal, csrfToken: session.csrfToken, nav, current: ctx.path };
  }

  function actorFor(ctx: Context) {
    return actorOf(principalOf(ctx), { ip: clientAddress(ctx.req, deps.trustProxyHops), userAgent: ctx.get('User-Agent') || undefined });
  }

  const pages = compose([errorPages(deps), router.routes(), router.allowedMethods()] as Middleware[]);
  return (ctx: Context, next: Next) => {
    if (ctx.path !== '/console' && !ctx.path.startsWith('/console/')) return next();
    ctx.set('Content-Security-Policy', CONTENT_SECURITY_POLICY);
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('X-Frame-Options', 'DENY');
    // The sign-in link's token must not leave in a Referer header.
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.set('Cache-Control', 'no-store');
    if (ctx.path === '/console') ctx.path = '/console/';
    // No id or filter holds a NUL (PostgreSQL text cannot): such a URL names nothing.
    if (/%00/.test(ctx.url)) {
      sendNotFound(ctx, 'There is nothing here.');
      return Promise.resolve();
    }
    return pages(ctx, async () => {
      sendNotFound(ctx, 'There is nothing here.');
    });
  };
}

/**
 * The session cookie: HttpOnly, SameSite=Strict, path /console, and Secure when the
 * ISSUER is https. Behind a proxy that ends TLS the request itself looks like plain
 * http, so the cookie jar is told the connection is secure rather than asked.
 */
function setSessionCookie(ctx: Context, issuer: string, value: string, expires: Date): void {
  const secure = issuer.startsWith('https:');
  if (secure) (ctx.cookies as unknown as { secure: boolean }).secure = true;
  ctx.cookies.set(COOKIE, value, { httpOnly: true, sameSite: 'strict', secure, path: '/console', expires, overwrite: true });
}

function principalOf(ctx: Context): Principal {
  return (ctx.state as ConsoleState).principal;
}

function formOf(ctx: Context): URLSearchParams {
  return (ctx.state.form as URLSearchParams | undefined) ?? new URLSearchParams();
}

/** The create and PATCH guard fields from a form: empty means the server default. */
function guardFields(form: URLSearchParams): Record<string, unknown> {
  const rate = (form.get('rateLimitPerMinute') ?? '').trim();
  const ips = (form.get('allowedIps') ?? '').split(/[\s,]+/).filter(Boolean);
  const autoDisable = form.get('autoDisable') ?? 'default';
  return {
    rateLimitPerMinute: rate === '' ? null : /^\d+$/.test(rate) ? Number(rate) : rate,
    allowedIps: ips,
    autoDisable: autoDisable === 'true' ? true : autoDisable === 'false' ? false : null,
  };
}

/** A refusal's field errors, for the form that caused it; a cap is reported as `(limit)`. */
function fieldErrorsOf(error: unknown): FieldError[] {
  if (error instanceof KeygateError && error.code === 'validation_failed') return [...(error.details.errors ?? [{ field: '(form)', message: error.message }])];
  if (error instanceof KeygateError && (error.code === 'limit_reached' || error.code === 'conflict')) return [{ field: '(limit)', message: error.message }];
  throw error;
}

/** PostgreSQL text cannot hold NUL: refused at the edge, as the admin API's parsers do, so no field reaches a query with one. */
const NUL = '\u0000';

async function readForm(ctx: Context): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_FORM_BYTES) throw new KeygateError('payload_too_large', 'The form is too large.');
    chunks.push(chunk);
  }
  const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
  for (const [name, value] of form) {
    const unstorable = unstorableText(name) ?? unstorableText(value);
    if (unstorable) throw validationFailed([{ field: name.replaceAll(NUL, '').replace(/\p{Surrogate}/gu, '\uFFFD'), message: unstorable }]);
  }
  return form;
}

/** The answer to every console POST that did what it asked: a 303 to a page a reload only reads. */
function seeOther(ctx: Context, location: string): void {
  ctx.redirect(location);
  ctx.status = 303;
}

/** What a keypair's page says after a change redirected to it (`?done=`). */
const DONE_NOTICES = {
  saved: 'Saved.',
  disabled: 'Disabled: token requests with this keypair are refused.',
  enabled: 'Enabled.',
} as const;

function send(ctx: Context, status: number, page: Html): void {
  ctx.status = status;
  ctx.type = 'text/html; charset=utf-8';
  ctx.body = page.value;
}

function sendNotFound(ctx: Context, message: string): void {
  send(ctx, 404, layout(undefined, 'Not found', html`<section class="card"><p>${message} <a href="/console">Go to the console</a>.</p></section>`));
}

/** Domain errors as pages: what the admin cannot reach is "not found", as in the admin API. */
function errorPages(deps: { log: Logger }): Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      if (error instanceof KeygateError && error.code === 'not_found') {
        sendNotFound(ctx, error.message);
        return;
      }
      if (error instanceof KeygateError && error.code === 'validation_failed') {
        send(ctx, 400, layout(undefined, 'Not accepted', html`<section class="card">${errorList(error.details.errors ?? [])}<p>Go back and correct the form.</p></section>`));
        return;
      }
      if (error instanceof KeygateError && error.code === 'payload_too_large') {
        send(ctx, 413, layout(undefined, 'Too large', html`<section class="card"><p>${error.message}</p></section>`));
        return;
      }
      deps.log.error('console error', { path: ctx.path, error: (error as Error).message });
      send(ctx, 500, layout(undefined, 'Something went wrong', html`<section class="card"><p>The server could not do this. Nothing was changed that the history does not show.</p></section>`));
    }
  };
}
