import type { Principal } from '../access/principal.js';
import type { AuditEventView } from '../audit/query.js';
import type { Grant, Keypair } from '../keypairs/store.js';
import type { ResourceServer } from '../resource_servers/store.js';
import type { Account, Environment } from '../tenancy/service.js';
import type { UsageSummary } from '../usage/report.js';
import { html, type Html } from './html.js';

/** What the sidebar lists: the accounts and environments the signed-in admin reaches. */
export interface NavAccount {
  readonly account: Account;
  /** Account admins and operators open the account itself (its own keypairs, its history). */
  readonly canOpenAccount: boolean;
  readonly environments: readonly Environment[];
}

export interface PageFrame {
  readonly principal: Principal;
  readonly csrfToken: string;
  readonly nav: readonly NavAccount[];
  /** The path of the page, to mark the current link. */
  readonly current: string;
}

export function when(date: Date | null, never = 'never'): Html {
  if (date === null) return html`${never}`;
  const iso = date.toISOString();
  return html`<time datetime="${iso}">${iso.slice(0, 16).replace('T', ' ')} UTC</time>`;
}

export const csrfField = (frame: { csrfToken: string }) => html`<input type="hidden" name="_csrf" value="${frame.csrfToken}">`;

function navLink(frame: PageFrame, href: string, label: string): Html {
  return html`<a href="${href}"${frame.current === href ? html` aria-current="page"` : ''}>${label}</a>`;
}

/** The whole page around `body`: header with sign-out, navigation, main. */
export function layout(frame: PageFrame | undefined, title: string, body: Html): Html {
  const nav =
    frame &&
    html`<nav class="side" aria-label="Accounts and environments">
      <ul>
        <li>${navLink(frame, '/console', 'Overview')}</li>
        ${frame.nav.map(
          (entry) => html`<li>${entry.canOpenAccount ? navLink(frame, `/console/accounts/${entry.account.id}`, entry.account.name) : html`<span>${entry.account.name}</span>`}
            <ul>${entry.environments.map((environment) => html`<li>${navLink(frame, `/console/environments/${environment.id}`, environment.name)}</li>`)}</ul></li>`,
        )}
        ${frame.principal.isOperator
          ? html`<li><strong>Operators</strong><ul>
              <li>${navLink(frame, '/console/operator/accounts', 'Accounts and environments')}</li>
              <li>${navLink(frame, '/console/operator/admins', 'Admins')}</li>
              <li>${navLink(frame, '/console/operator/resource-servers', 'Resource servers')}</li></ul></li>`
          : ''}
      </ul>
    </nav>`;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · Keygate</title>
<link rel="stylesheet" href="/console/assets/console.css">
<script src="/console/assets/console.js" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
  <a href="/console">Keygate console</a>
  ${frame
    ? html`<span class="who">Signed in as ${frame.principal.name || frame.principal.email} (${frame.principal.email})</span>
      <form method="post" action="/console/sign-out">${csrfField(frame)}<button class="header-button" type="submit">Sign out</button></form>`
    : ''}
</header>
<div class="layout${frame ? '' : ' single'}">
${nav ?? ''}
<main id="main">
<h1>${title}</h1>
${body}
</main>
</div>
</body>
</html>`;
}

export function errorList(errors: ReadonlyArray<{ field: string; message: string }>): Html {
  if (errors.length === 0) return html``;
  return html`<div class="error" role="alert" id="form-errors"><p>Please correct:</p><ul>${errors.map((error) => html`<li><strong>${error.field}</strong> ${error.message}</li>`)}</ul></div>`;
}

export function keypairState(keypair: Keypair, now: Date): Html {
  if (!keypair.enabled) return html`<span class="state disabled">disabled</span>`;
  if (keypair.expiresAt && keypair.expiresAt.getTime() <= now.getTime()) return html`<span class="state expired">expired</span>`;
  return html`<span class="state enabled">enabled</span>`;
}

/** The keypair list: one row per keypair, linking to its page. */
export function keypairTable(keypairs: readonly Keypair[], creators: ReadonlyMap<string, string>, now: Date, caption: string): Html {
  if (keypairs.length === 0) return html`<p>No keypairs here yet.</p>`;
  return html`<table>
    <caption class="visually-hidden">${caption}</caption>
    <thead><tr><th scope="col">Name</th><th scope="col">Comment</th><th scope="col">Secret</th><th scope="col">Grants</th><th scope="col">State</th><th scope="col">Last used</th><th scope="col">Expires</th><th scope="col">Created by</th></tr></thead>
    <tbody>${keypairs.map(
      (keypair) => html`<tr>
        <td><a href="/console/keypairs/${keypair.clientId}">${keypair.name}</a><br><code>${keypair.clientId}</code></td>
        <td>${keypair.comment}</td>
        <td><code>${keypair.secretHint ?? ''}</code></td>
        <td>${grantList(keypair.grants)}</td>
        <td>${keypairState(keypair, now)}</td>
        <td>${when(keypair.lastUsedAt)}</td>
        <td>${when(keypair.expiresAt)}</td>
        <td>${creators.get(keypair.createdBy) ?? keypair.createdBy}</td>
      </tr>`,
    )}</tbody>
  </table>`;
}

/**
 * Checkboxes of every scope, grouped by resource server, with their descriptions.
 * Each box is a `grant` field "<scope> <identifier>" (a scope holds no space), and
 * `checked` holds those values.
 */
export function grantChoices(servers: readonly ResourceServer[], checked: ReadonlySet<string>, idPrefix: string): Html {
  return html`${servers.map(
    (server) => html`<fieldset><legend>${server.name} <span class="hint">(${server.identifier})</span></legend>
      ${server.scopes.length === 0 ? html`<p class="hint">No scopes defined.</p>` : ''}
      ${server.scopes.map((scope) => {
        const id = `${idPrefix}-${server.id}-${scope.name}`;
        const value = `${scope.name} ${server.identifier}`;
        return html`<div class="choice"><input type="checkbox" id="${id}" name="grant" value="${value}"${checked.has(value) ? html` checked` : ''}>
          <label for="${id}" class="choice-label"><code>${scope.name}</code>${scope.description ? html` <span class="hint">${scope.description}</span>` : ''}</label></div>`;
      })}
    </fieldset>`,
  )}`;
}

/** The grant checkboxes of a form as the admin API's `grants`, one per resource server, in the order first seen. */
export function grantsOfForm(form: URLSearchParams): Array<{ resourceServer: string; scopes: string[] }> {
  const grants = new Map<string, string[]>();
  for (const value of form.getAll('grant')) {
    const space = value.indexOf(' ');
    if (space <= 0) continue;
    const [scope, resourceServer] = [value.slice(0, space), value.slice(space + 1)];
    grants.set(resourceServer, [...(grants.get(resourceServer) ?? []), scope]);
  }
  return [...grants].map(([resourceServer, scopes]) => ({ resourceServer, scopes }));
}

/** A keypair's grants, one line per resource server. */
export function grantList(grants: readonly Grant[]): Html {
  if (grants.length === 0) return html`none`;
  return html`<ul class="grants">${grants.map((grant) => html`<li><code>${grant.resourceServer}</code>: ${grant.scopes.join(' ')}</li>`)}</ul>`;
}

/** The secret, once, with a copy button, the curl that uses it and the warning. */
export function secretPanel(keypair: Keypair, clientSecret: string, issuer: string, verb: string): Html {
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

/** 24 hourly bars, issued and refused stacked, as inline SVG (no script, no library). */
export function usageChart(summary: UsageSummary): Html {
  const width = 480;
  const height = 120;
  const barWidth = width / summary.hourly.length;
  const top = Math.max(1, ...summary.hourly.map((hour) => hour.issued + hour.refused));
  const bars = summary.hourly.map((hour, index) => {
    const issuedHeight = (hour.issued / top) * (height - 10);
    const refusedHeight = (hour.refused / top) * (height - 10);
    const x = index * barWidth + 1;
    return html`<rect class="issued" x="${x.toFixed(1)}" y="${(height - issuedHeight).toFixed(1)}" width="${(barWidth - 2).toFixed(1)}" height="${issuedHeight.toFixed(1)}"></rect>
      <rect class="refused" x="${x.toFixed(1)}" y="${(height - issuedHeight - refusedHeight).toFixed(1)}" width="${(barWidth - 2).toFixed(1)}" height="${refusedHeight.toFixed(1)}"></rect>`;
  });
  const description = `Token requests per hour over the last 24 hours: ${summary.last24h.issued} issued and ${summary.last24h.refused} refused in all.`;
  return html`<svg class="chart" viewBox="0 0 ${width} ${height}" role="img" aria-labelledby="chart-title"><title id="chart-title">${description}</title>${bars}</svg>
    <p class="legend hint"><span class="issued"></span>issued<span class="refused"></span>refused (oldest hour on the left)</p>`;
}

export function usageSection(summary: UsageSummary): Html {
  return html`<section class="card" aria-labelledby="usage-heading">
    <h2 id="usage-heading">Usage</h2>
    <div class="totals">
      <div><strong>Last 24 hours</strong><br>${summary.last24h.issued} issued, ${summary.last24h.refused} refused</div>
      <div><strong>Last 7 days</strong><br>${summary.last7d.issued} issued, ${summary.last7d.refused} refused</div>
    </div>
    ${usageChart(summary)}
    <h3>Refusals by reason (7 days)</h3>
    ${summary.refusals.length === 0
      ? html`<p>None.</p>`
      : html`<table><thead><tr><th scope="col">Reason</th><th scope="col">24 hours</th><th scope="col">7 days</th></tr></thead>
        <tbody>${summary.refusals.map((entry) => html`<tr><td><code>${entry.key}</code></td><td>${entry.refused24h}</td><td>${entry.refused7d}</td></tr>`)}</tbody></table>`}
    <h3>Last ${summary.recent.length} requests</h3>
    ${summary.recent.length === 0
      ? html`<p>No token requests yet.</p>`
      : html`<table><thead><tr><th scope="col">When</th><th scope="col">Outcome</th><th scope="col">Reason</th><th scope="col">IP</th><th scope="col">User agent</th></tr></thead>
        <tbody>${summary.recent.map((request) => html`<tr><td>${when(request.at)}</td><td>${request.outcome}</td><td>${request.reason ?? ''}</td><td><code>${request.ip ?? ''}</code></td><td>${request.userAgent ?? ''}</td></tr>`)}</tbody></table>`}
  </section>`;
}

/** The name an event's keypair had, from what the event recorded. */
function keypairNameOf(event: AuditEventView): string | undefined {
  for (const side of [event.after, event.before]) {
    if (typeof side === 'object' && side !== null && typeof (side as { name?: unknown }).name === 'string') return (side as { name: string }).name;
  }
  return undefined;
}

export function eventTable(events: readonly AuditEventView[], names: ReadonlyMap<string, string>): Html {
  if (events.length === 0) return html`<p>No events match.</p>`;
  return html`<table>
    <thead><tr><th scope="col">When</th><th scope="col">Action</th><th scope="col">Keypair</th><th scope="col">By</th><th scope="col">From</th></tr></thead>
    <tbody>${events.map((event) => {
      const name = names.get(event.target.id) ?? keypairNameOf(event);
      const actor = event.actor.type === 'system' ? 'Keygate (system)' : `${event.actor.name || event.actor.email || event.actor.id} ${event.actor.email ? `<${event.actor.email}>` : ''}`;
      return html`<tr><td>${when(event.at)}</td><td><code>${event.action}</code></td>
        <td>${event.target.type === 'keypair' ? html`${name ?? ''} <code>${event.target.id}</code>` : html`${event.target.type} <code>${event.target.id}</code>`}</td>
        <td>${actor}</td><td><code>${event.ip ?? ''}</code></td></tr>`;
    })}</tbody>
  </table>`;
}
