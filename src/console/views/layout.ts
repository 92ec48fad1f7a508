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

