import { COMMENT_MAX_LENGTH, NAME_MAX_LENGTH, NAME_MIN_LENGTH, RATE_LIMIT_MAX_PER_MINUTE, RATE_LIMIT_MIN_PER_MINUTE } from '../../shared/limits.js';
import type { TrustedIssuer } from '../../federation/store.js';
import type { Keypair } from '../../keypairs/store.js';
import type { ResourceServer } from '../../resource_servers/store.js';
import type { FieldError } from '../../shared/errors.js';
import type { Environment } from '../../tenancy/service.js';
import { html, type Html } from '../html.js';
import { grantChoices, keypairTable } from './keypair_parts.js';
import { credentialFields } from './keyless.js';
import { csrfField, errorList, layout, pager, type PageFrame } from './layout.js';

/** An account or environment, as the pages of its keypairs name it. */
export interface OwnerPage {
  readonly accountId: string;
  readonly environmentId: string | null;
  readonly title: string;
  /** The path of its list page. */
  readonly base: string;
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

/** The most keypairs a list page shows: 100. */
export const LIST_PAGE_SIZE = 100;

export function overviewPage(frame: PageFrame): Html {
  const body = frame.nav.length === 0
      ? html`<section class="card"><p>You administer nothing yet.</p></section>`
      : html`${frame.nav.map((entry) => html`<section class="card"><h2>${entry.account.name}</h2>
          ${entry.canOpenAccount ? html`<p><a href="/console/accounts/${entry.account.id}">Account-level keypairs and history</a></p>` : ''}
          ${entry.environments.length === 0 ? html`<p>No environments.</p>` : html`<ul>${entry.environments.map((environment) => html`<li><a href="/console/environments/${environment.id}">${environment.name}</a></li>`)}</ul>`}</section>`)}`;
  return layout(frame, 'Overview', body);
}

export interface KeypairList {
  readonly state: 'all' | 'enabled' | 'disabled';
  readonly q: string;
  readonly keypairs: readonly Keypair[];
  /** Who created each keypair, by creator id. */
  readonly creators: ReadonlyMap<string, { readonly name: string; readonly email: string }>;
  readonly now: Date;
  /** An account's active environments (none for an environment's page). */
  readonly environments: readonly Environment[];
  /** The keypair just deleted, to say so. */
  readonly deleted: string | undefined;
  readonly links: { readonly previous: string | undefined; readonly next: string | undefined };
}

export function keypairListPage(frame: PageFrame, owner: OwnerPage, { state, q, keypairs: list, creators, now, environments, deleted, links }: KeypairList): Html {
  const heading = owner.environmentId === null ? 'Account-level keypairs' : 'Environment keypairs';
  const filtered = state !== 'all' || q !== '';
  const createLink = html`<a class="button" href="${owner.base}/keypairs/new">Create a keypair</a>`;
  // An owner with no keypair at all gets the way to its first one, not an empty table and filters.
  const none = list.length === 0 && !filtered && links.previous === undefined;
  const body = list.length > 0
    ? html`${keypairTable(list, creators, now, heading)}${pager(links, `Pages of ${heading.toLowerCase()}`)}`
    : none
      ? html`<div class="empty"><p>No keypairs here yet. A keypair is a client_id and a secret that a machine client exchanges for access tokens.</p>${createLink}</div>`
      : html`<p>No keypairs match. <a href="${owner.base}">Show all</a>.</p>`;
  return layout(frame, owner.title, html`
      ${deleted ? html`<p class="notice" role="status">Keypair <code>${deleted}</code> is deleted; its history stays.</p>` : ''}
      <section class="card">
        <div class="actions">${none ? '' : createLink}<a href="${owner.base}/history">Credential history</a></div>
        <form class="inline" method="get" action="${owner.base}" role="search">
          <div><label for="filter-state">State</label><select id="filter-state" name="state">
            ${(['all', 'enabled', 'disabled'] as const).map((value) => html`<option value="${value}"${state === value ? html` selected` : ''}>${value}</option>`)}</select></div>
          <div><label for="filter-q">Name contains</label><input type="search" id="filter-q" name="q" value="${q}"></div>
          <div><button type="submit" class="secondary">Filter</button></div>
        </form>
      </section>
      <section class="card" aria-labelledby="keypairs-heading">
        <h2 id="keypairs-heading">${heading}</h2>
        ${body}
      </section>
      ${owner.environmentId === null
        ? html`<section class="card"><h2>Environments of this account</h2>${environments.length === 0 ? html`<p>None.</p>` : html`<ul>${environments.map((environment) => html`<li><a href="/console/environments/${environment.id}">${environment.name}</a></li>`)}</ul>`}<p class="hint">Their keypairs are listed on their own pages.</p></section>`
        : ''}`);
}

/** The create form, empty or as sent with its errors; `servers` are those the owner's account may be granted. */
export function createKeypairPage(frame: PageFrame, owner: OwnerPage, choices: CreateChoices, values: URLSearchParams | undefined, errors: readonly FieldError[]): Html {
  return layout(frame, `New keypair in ${owner.title}`, createForm(frame, owner, choices, values, errors));
}

/** What the create form offers: resource servers the owner's account may be granted, trusted issuers for a federated keypair. */
export interface CreateChoices {
  readonly servers: readonly ResourceServer[];
  readonly issuers: readonly TrustedIssuer[];
}

function createForm(frame: PageFrame, owner: OwnerPage, { servers, issuers }: CreateChoices, values: URLSearchParams | undefined, errors: readonly FieldError[]): Html {
  const value = (name: string, fallback = '') => values?.get(name) ?? fallback;
  const expiry = value('expiry', 'never');
  const checked = new Set(values?.getAll('grant') ?? []);
  return html`${errorList(errors)}
      <form method="post" action="${owner.base}/keypairs/new" class="card" aria-describedby="${errors.length > 0 ? 'form-errors' : ''}">
        ${csrfField(frame)}
        <section class="card">
        <label for="name">Name <span class="hint">(${NAME_MIN_LENGTH} to ${NAME_MAX_LENGTH} characters)</span></label><input type="text" id="name" name="name" required maxlength="${NAME_MAX_LENGTH}" value="${value('name')}">
        <label for="comment">Comment <span class="hint">(what it is for, who owns it)</span></label><textarea id="comment" name="comment" maxlength="${COMMENT_MAX_LENGTH}">${value('comment')}</textarea>
        ${credentialFields(issuers, values)}
        <fieldset><legend>Expires</legend>
          ${EXPIRY_CHOICES.map(([choice, label]) => html`<div class="choice"><input type="radio" id="expiry-${choice}" name="expiry" value="${choice}"${expiry === choice ? html` checked` : ''}><label class="choice-label" for="expiry-${choice}">${label}</label></div>`)}
          <label for="expiry-date">Date <span class="hint">(with "On a date": the keypair stops working at the end of that day, UTC)</span></label><input type="date" id="expiry-date" name="expiryDate" value="${value('expiryDate')}">
        </fieldset>
        <h2>Grants</h2>
        ${grantChoices(servers, checked, 'grant')}
        <h2>Guards</h2>
        <label for="rate-limit">Rate limit, token requests per minute <span class="hint">(${RATE_LIMIT_MIN_PER_MINUTE} to ${RATE_LIMIT_MAX_PER_MINUTE}; empty: the server default)</span></label><input type="number" id="rate-limit" name="rateLimitPerMinute" min="${RATE_LIMIT_MIN_PER_MINUTE}" max="${RATE_LIMIT_MAX_PER_MINUTE}" value="${value('rateLimitPerMinute')}">
        <label for="allowed-ips">Allowed IP addresses <span class="hint">(one address or CIDR range per line, such as 203.0.113.0/24; empty: anywhere)</span></label><textarea id="allowed-ips" name="allowedIps">${value('allowedIps')}</textarea>
        <label for="auto-disable">Disable automatically on sustained failures</label><select id="auto-disable" name="autoDisable">
          ${[['default', 'Server default'], ['true', 'Yes'], ['false', 'No']].map(([choice, label]) => html`<option value="${choice}"${value('autoDisable', 'default') === choice ? html` selected` : ''}>${label}</option>`)}</select>
        <p><button type="submit">Create keypair</button></p>
        </section>
      </form>`;
}
