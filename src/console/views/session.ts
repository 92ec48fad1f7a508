import { html, type Html } from '../html.js';
import { layout } from './layout.js';

/** The sign-in link's page: only a button, so a link preview does not use the link up; without a token, how to get one. */
export function signInPage(token: string): Html {
  return layout(undefined, 'Sign in', token
      ? html`<section class="card"><p>Sign in to the Keygate console with this one-time link.</p>
          <form method="post" action="/console/sign-in"><input type="hidden" name="token" value="${token}"><button type="submit">Sign in</button></form></section>`
      : html`<section class="card"><p>Sign in with a one-time link. On the server, run:</p><pre>npx keygate console-link --operator</pre><p>or <code>npx keygate console-link --email you@example.com</code>, and open the link it prints within 10 minutes.</p></section>`);
}

export function crossSiteSignInPage(): Html {
  return layout(undefined, 'Sign-in refused', html`<section class="card"><p class="error" role="alert">This sign-in came from another site. Open your sign-in link directly.</p></section>`);
}

export function linkNotAcceptedPage(): Html {
  return layout(undefined, 'Sign-in link not accepted', html`<section class="card"><p class="error" role="alert">This link has expired, was already used, or names no Keygate admin.</p><p>Ask for a new one: <code>npx keygate console-link --email you@example.com</code>.</p></section>`);
}

export function signedOutPage(): Html {
  return layout(undefined, 'Signed out', html`<section class="card"><p>Your session has ended. <a href="/console/sign-in">Sign in again</a>.</p></section>`);
}

export function formExpiredPage(): Html {
  return layout(undefined, 'Form expired', html`<section class="card"><p class="error" role="alert">This form is from another session. Go back, reload the page and try again.</p></section>`);
}
