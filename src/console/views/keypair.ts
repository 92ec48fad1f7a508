import { DISABLED_REASON_MAX_LENGTH, COMMENT_MAX_LENGTH, MAX_GRACE_PERIOD_SECONDS } from '../../shared/limits.js';
import type { AuditEventView } from '../../audit/query.js';
import type { Keypair } from '../../keypairs/store.js';
import type { ResourceServer } from '../../resource_servers/store.js';
import type { FieldError } from '../../shared/errors.js';
import type { UsageSummary } from '../../usage/report.js';
import { html, type Html } from '../html.js';
import { eventTable } from './history.js';
import { grantChoices, grantList, keypairState } from './keypair_parts.js';
import { credentialFacts, keylessSnippets, publicKeySettings } from './keyless.js';
import type { SnippetTarget } from './snippets.js';
import { csrfField, errorList, layout, when, type PageFrame } from './layout.js';
import { usageSection } from './usage.js';

/** Rotate's grace choices; none is preselected, so the admin picks one on purpose. */
export const GRACE_CHOICES: ReadonlyArray<readonly [number, string]> = [
  [0, 'None: the current secret stops working now'],
  [3600, '1 hour'],
  [86_400, '1 day'],
  [MAX_GRACE_PERIOD_SECONDS, '7 days'],
];

/** What a keypair's page says after a change redirected to it (`?done=`). */
export const DONE_NOTICES = {
  saved: 'Saved.',
  disabled: 'Disabled: token requests with this keypair are refused.',
  enabled: 'Enabled.',
  created_public_key: 'Created, with no secret: its client signs a client assertion with its private key (private_key_jwt), as below.',
  created_federated: "Created, with no secret: its workload sends its platform's token as the client assertion, as below.",
  key_added: 'Key added: the client may sign with it from now on.',
  key_removed: 'Key removed: assertions signed with it are refused from the next request on.',
} as const;

/**
 * The sections of a keypair's page, each its own server-rendered view (`?tab=`), so
 * that no page is one long scroll; the first is the default.
 */
export const KEYPAIR_TABS = [
  ['overview', 'Overview'],
  ['grants', 'Grants'],
  ['usage', 'Usage'],
  ['history', 'History'],
  ['settings', 'Settings'],
] as const;
export type KeypairTab = (typeof KEYPAIR_TABS)[number][0];

export function keypairTabOf(value: unknown): KeypairTab {
  return KEYPAIR_TABS.find(([tab]) => tab === value)?.[0] ?? 'overview';
}

export const keypairTabPath = (clientId: string, tab: KeypairTab) => `/console/keypairs/${clientId}${tab === 'overview' ? '' : `?tab=${tab}`}`;

/** What a keypair's page shows besides the keypair itself: only what its tab needs is read. */
export interface KeypairDetails {
  readonly now: Date;
  readonly tab: KeypairTab;
  /** The resource servers the keypair's account may be granted (grants tab). */
  readonly servers: readonly ResourceServer[];
  /** Usage tab. */
  readonly summary: UsageSummary | undefined;
  /** History tab: the latest events. */
  readonly events: readonly AuditEventView[];
  /** Overview of a keypair with no secret: what its snippets ask for. */
  readonly snippets?: SnippetTarget;
}

function tabs(keypair: Keypair, current: KeypairTab): Html {
  return html`<nav class="tabs" aria-label="Sections of this keypair"><ul>${KEYPAIR_TABS.map(
    ([tab, label]) => html`<li><a href="${keypairTabPath(keypair.clientId, tab)}"${tab === current ? html` aria-current="page"` : ''}>${label}</a></li>`,
  )}</ul></nav>`;
}

/** A keypair's page: the tab bar, then the chosen section. */
export function keypairPage(frame: PageFrame, keypair: Keypair, details: KeypairDetails, notice: Html | undefined, errors: readonly FieldError[]): Html {
  const body = { overview, grants, usage, history, settings }[details.tab](frame, keypair, details);
  return layout(frame, `Keypair ${keypair.name}`, html`
      ${notice ? html`<p class="notice" role="status">${notice}</p>` : ''}
      ${errorList(errors)}
      ${tabs(keypair, details.tab)}
      ${body}`);
}

const ownerPath = (keypair: Keypair) => (keypair.environmentId === null ? `/console/accounts/${keypair.accountId}` : `/console/environments/${keypair.environmentId}`);

function overview(_frame: PageFrame, keypair: Keypair, { now, snippets }: KeypairDetails): Html {
  return html`<section class="card" aria-labelledby="facts-heading">
        <h2 id="facts-heading">Details</h2>
        <dl class="facts">
          <dt>client_id</dt><dd><code>${keypair.clientId}</code></dd>
          <dt>State</dt><dd>${keypairState(keypair, now)}${keypair.disabledReason ? html` (${keypair.disabledReason})` : ''}</dd>
          <dt>Comment</dt><dd>${keypair.comment || html`<span class="hint">none</span>`}</dd>
          ${credentialFacts(keypair, now)}
          <dt>Grants</dt><dd>${grantList(keypair.grants)}</dd>
          <dt>Last used</dt><dd>${when(keypair.lastUsedAt, now)}</dd>
          <dt>Expires</dt><dd>${when(keypair.expiresAt, now)}</dd>
          <dt>Rate limit</dt><dd>${keypair.rateLimitPerMinute === null ? 'server default' : `${keypair.rateLimitPerMinute} per minute`}</dd>
          <dt>Allowed IPs</dt><dd>${keypair.allowedIps.length > 0 ? keypair.allowedIps.join(', ') : 'anywhere'}</dd>
          <dt>Created</dt><dd>${when(keypair.createdAt, now)}</dd>
        </dl>
        <p><a href="${ownerPath(keypair)}">Back to the list</a></p>
      </section>
      ${snippets && keypair.credentialType !== 'secret' ? keylessSnippets(keypair, snippets) : ''}`;
}

function grants(frame: PageFrame, keypair: Keypair, { servers }: KeypairDetails): Html {
  const checked = new Set(keypair.grants.flatMap((grant) => grant.scopes.map((scope) => `${scope} ${grant.resourceServer}`)));
  return html`<section class="card" aria-labelledby="edit-heading">
        <h2 id="edit-heading">Comment and grants</h2>
        <dl class="facts"><dt>Granted now</dt><dd>${grantList(keypair.grants)}</dd></dl>
        <form method="post" action="/console/keypairs/${keypair.clientId}/update">${csrfField(frame)}
          <label for="edit-comment">Comment</label><textarea id="edit-comment" name="comment" maxlength="${COMMENT_MAX_LENGTH}">${keypair.comment}</textarea>
          ${grantChoices(servers, checked, 'edit-grant')}
          <button type="submit">Save</button>
        </form>
      </section>`;
}

function usage(_frame: PageFrame, _keypair: Keypair, { summary, now }: KeypairDetails): Html {
  return summary ? usageSection(summary, now) : html``;
}

function history(_frame: PageFrame, keypair: Keypair, { events, now }: KeypairDetails): Html {
  return html`<section class="card" aria-labelledby="history-heading">
        <h2 id="history-heading">History</h2>
        ${eventTable(events, new Map([[keypair.clientId, keypair.name]]), now)}
        <p><a href="${ownerPath(keypair)}/history">The whole credential history of its ${keypair.environmentId === null ? 'account' : 'environment'}</a></p>
      </section>`;
}

function settings(frame: PageFrame, keypair: Keypair, { now }: KeypairDetails): Html {
  const base = `/console/keypairs/${keypair.clientId}`;
  return html`<section class="card" aria-labelledby="state-heading">
        <h2 id="state-heading">${keypair.enabled ? 'Disable' : 'Enable'}</h2>
        ${keypair.enabled
          ? html`<form method="post" action="${base}/disable">${csrfField(frame)}
              <label for="disable-reason">Reason <span class="hint">(kept with the keypair and in the history)</span></label><input type="text" id="disable-reason" name="reason" maxlength="${DISABLED_REASON_MAX_LENGTH}">
              <div class="choice"><input type="checkbox" id="disable-confirm" name="confirm" value="yes" required><label class="choice-label" for="disable-confirm">Yes, refuse token requests with <strong>${keypair.name}</strong> from now on</label></div>
              <p><button type="submit" class="danger">Disable keypair</button></p></form>
              <p class="hint">Token requests are refused from the next one on; tokens already issued stop passing resource servers that check the status list.</p>`
          : html`<form method="post" action="${base}/enable">${csrfField(frame)}<button type="submit">Enable keypair</button></form>`}
      </section>
      ${keypair.credentialType === 'public_key' ? publicKeySettings(frame, keypair, now) : ''}
      ${keypair.credentialType !== 'secret' ? '' : html`<section class="card" aria-labelledby="rotate-heading">
        <h2 id="rotate-heading">Rotate the secret</h2>
        <form method="post" action="${base}/rotate">${csrfField(frame)}
          <fieldset><legend>Keep the current secret working for</legend>
            ${GRACE_CHOICES.map(([seconds, label]) => html`<div class="choice"><input type="radio" id="grace-${seconds}" name="gracePeriodSeconds" value="${seconds}" required><label class="choice-label" for="grace-${seconds}">${label}</label></div>`)}
          </fieldset>
          <div class="choice"><input type="checkbox" id="rotate-confirm" name="confirm" value="yes" required><label class="choice-label" for="rotate-confirm">Yes, make a new secret for <strong>${keypair.name}</strong>; the current one stops working when the period chosen ends</label></div>
          <p><button type="submit">Rotate secret</button></p></form>
      </section>`}
      <section class="card" aria-labelledby="delete-heading">
        <h2 id="delete-heading">Delete</h2>
        <p>Deleting <strong>${keypair.name}</strong> is final: every token request with it is refused from the next one on, and it cannot be restored. Its history stays.</p>
        <form method="post" action="${base}/delete" class="inline">${csrfField(frame)}
          <div><label for="confirm-name">Type the keypair's name to confirm</label><input type="text" id="confirm-name" name="confirmName" autocomplete="off" data-confirm-name="${keypair.name}" data-confirm-button="delete-button"></div>
          <div><button type="submit" class="danger" id="delete-button">Delete keypair</button></div></form>
      </section>`;
}
