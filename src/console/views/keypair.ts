import { DISABLED_REASON_MAX_LENGTH, COMMENT_MAX_LENGTH, MAX_GRACE_PERIOD_SECONDS } from '../../shared/limits.js';
import type { AuditEventView } from '../../audit/query.js';
import type { Keypair } from '../../keypairs/store.js';
import type { ResourceServer } from '../../resource_servers/store.js';
import type { FieldError } from '../../shared/errors.js';
import type { UsageSummary } from '../../usage/report.js';
import { html, type Html } from '../html.js';
import { eventTable } from './history.js';
import { grantChoices, grantList, keypairState } from './keypair_parts.js';
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
} as const;

/** What a keypair's page shows besides the keypair itself. */
export interface KeypairDetails {
  readonly now: Date;
  /** The resource servers the keypair's account may be granted. */
  readonly servers: readonly ResourceServer[];
  readonly summary: UsageSummary;
  readonly events: readonly AuditEventView[];
}

/** A keypair's page: details, edit, disable or enable, rotate, usage, history, delete. */
export function keypairPage(frame: PageFrame, keypair: Keypair, { now, servers, summary, events }: KeypairDetails, notice: Html | undefined, errors: readonly FieldError[]): Html {
  const owner = keypair.environmentId === null ? `/console/accounts/${keypair.accountId}` : `/console/environments/${keypair.environmentId}`;
  const base = `/console/keypairs/${keypair.clientId}`;
  return layout(frame, `Keypair ${keypair.name}`, html`
      ${notice ? html`<p class="notice" role="status">${notice}</p>` : ''}
      ${errorList(errors)}
      <section class="card" aria-labelledby="facts-heading">
        <h2 id="facts-heading">Details</h2>
        <dl class="facts">
          <dt>client_id</dt><dd><code>${keypair.clientId}</code></dd>
          <dt>State</dt><dd>${keypairState(keypair, now)}${keypair.disabledReason ? html` (${keypair.disabledReason})` : ''}</dd>
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
          <label for="edit-comment">Comment</label><textarea id="edit-comment" name="comment" maxlength="${COMMENT_MAX_LENGTH}">${keypair.comment}</textarea>
          ${grantChoices(servers, new Set(keypair.grants.flatMap((grant) => grant.scopes.map((scope) => `${scope} ${grant.resourceServer}`))), 'edit-grant')}
          <button type="submit">Save</button>
        </form>
      </section>
      <section class="card" aria-labelledby="state-heading">
        <h2 id="state-heading">${keypair.enabled ? 'Disable' : 'Enable'}</h2>
        ${keypair.enabled
          ? html`<form method="post" action="${base}/disable">${csrfField(frame)}
              <label for="disable-reason">Reason <span class="hint">(kept with the keypair and in the history)</span></label><input type="text" id="disable-reason" name="reason" maxlength="${DISABLED_REASON_MAX_LENGTH}">
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
      </section>`);
}

/** The secret, once, with a copy button, the curl that uses it and the warning. */
function secretPanel(keypair: Keypair, clientSecret: string, issuer: string, verb: string): Html {
  const curl = `curl -s -u "${keypair.clientId}:${clientSecret}" -d grant_type=client_credentials ${issuer}/token`;
  return html`<section class="card" aria-labelledby="secret-heading">
    <h2 id="secret-heading">${verb}: copy the secret now</h2>
    <p class="warning" role="alert">This secret is shown once. It will not be shown again: store it somewhere safe before you leave this page.</p>
    <dl class="facts"><dt>Name</dt><dd>${keypair.name}</dd><dt>client_id</dt><dd><code id="client-id">${keypair.clientId}</code></dd></dl>
    <label for="secret">client_secret</label>
    <div class="secret"><input type="text" id="secret" readonly value="${clientSecret}" autocomplete="off" spellcheck="false">
      <button type="button" data-copy="secret" data-status="copy-status">Copy secret</button></div>
    <p id="copy-status" role="status" class="hint"></p>
    <label for="curl">Fetch a token with it</label>
    <pre id="curl">${curl}</pre>
    <p><a href="/console/keypairs/${keypair.clientId}">Go to the keypair</a></p>
  </section>`;
}

/** The one view of a new secret. */
export function secretPage(frame: PageFrame, keypair: Keypair, view: { title: string; clientSecret: string; verb: string }, issuer: string): Html {
  return layout(frame, view.title, secretPanel(keypair, view.clientSecret, issuer, view.verb));
}

/** Where the one view of a new secret was: it is not kept, so a reload finds it gone. */
export function secretGonePage(frame: PageFrame, keypair: Keypair): Html {
  return layout(frame, 'The secret was shown once', html`<section class="card"><p role="status">This secret was shown once and is not kept: it cannot be shown again. If it was not copied, rotate the secret to get a new one.</p>
        <p><a href="/console/keypairs/${keypair.clientId}">Go to the keypair</a></p></section>`);
}
