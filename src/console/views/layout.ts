import type { Principal } from '../../access/principal.js';
import type { ReachedAccount } from '../../access/reach.js';
import { html, type Html } from '../html.js';

export interface PageFrame {
  readonly principal: Principal;
  readonly csrfToken: string;
  /** The sidebar: the accounts and environments the signed-in admin reaches. */
  readonly nav: readonly ReachedAccount[];
  /** The path of the page, to mark the current link. */
  readonly current: string;
}

/** "2026-12-02 13:21 UTC": the absolute time, in the zone every admin shares. */
export const utc = (date: Date) => `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** "2 min ago", "in 3 days": how far `date` is from `now`; past a month, the date itself. */
export function relative(date: Date, now: Date): string {
  const diff = date.getTime() - now.getTime();
  const size = Math.abs(diff);
  const say = (count: number, unit: string) => (diff < 0 ? `${count} ${unit} ago` : `in ${count} ${unit}`);
  if (size < 45_000) return 'just now';
  if (size < HOUR) return say(Math.max(1, Math.round(size / MINUTE)), 'min');
  if (size < DAY) return say(Math.round(size / HOUR), 'h');
  if (size < 30 * DAY) {
    const days = Math.round(size / DAY);
    return say(days, days === 1 ? 'day' : 'days');
  }
  return date.toISOString().slice(0, 10);
}

/** A time as it reads best in a list: relative to `now`, with the absolute UTC time on hover and in `datetime`. */
export function when(date: Date | null, now: Date, never = 'never'): Html {
  if (date === null) return html`${never}`;
  return html`<time datetime="${date.toISOString()}" title="${utc(date)}">${relative(date, now)}</time>`;
}

/** "Previous" and "Next" of a paginated list; nothing when it fits one page. */
export function pager(links: { previous: string | undefined; next: string | undefined }, label: string): Html {
  if (links.previous === undefined && links.next === undefined) return html``;
  return html`<nav class="pager" aria-label="${label}">
    ${links.previous === undefined ? '' : html`<a href="${links.previous}" rel="prev">Previous page</a>`}
    ${links.next === undefined ? '' : html`<a href="${links.next}" rel="next">Next page</a>`}</nav>`;
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

