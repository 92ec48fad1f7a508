import type { Keypair } from '../../keypairs/store.js';
import { html, type Html } from '../html.js';
import { layout, type PageFrame } from './layout.js';
import { curlSnippet, goSnippet, nodeSnippet, pythonSnippet, SECRET_VARIABLE, verifierSnippet, type SnippetTarget } from './snippets.js';

/** A copy button for the element `target` (console.js copies its value or text); all report to one status line. */
export const copyButton = (target: string, what: string) => html`<button type="button" class="secondary small" data-copy="${target}" data-status="copy-status">Copy ${what}</button>`;

/** A labelled block of code with its copy button. */
export function codeBlock(id: string, title: string, what: string, code: string): Html {
  return html`<div class="copyable"><h3 id="${id}-heading">${title}</h3>${copyButton(id, what)}</div>
    <pre class="code" id="${id}">${code}</pre>`;
}

/** The secret, once: client_id, secret and curl each with a copy button, the warning, then the same in code. */
function secretPanel(keypair: Keypair, clientSecret: string, target: SnippetTarget, verb: string): Html {
  return html`<section class="card" aria-labelledby="secret-heading">
    <h2 id="secret-heading">${verb}: copy the secret now</h2>
    <p class="warning" role="alert">This secret is shown once. It will not be shown again: store it somewhere safe before you leave this page.</p>
    <dl class="facts"><dt>Name</dt><dd>${keypair.name}</dd><dt>client_id</dt><dd><code id="client-id">${keypair.clientId}</code> ${copyButton('client-id', 'client_id')}</dd></dl>
    <label for="secret">client_secret</label>
    <div class="secret"><input type="text" id="secret" readonly value="${clientSecret}" autocomplete="off" spellcheck="false">
      <button type="button" data-copy="secret" data-status="copy-status">Copy secret</button></div>
    <p id="copy-status" role="status" class="hint"></p>
    <div class="copyable"><label for="curl">Fetch a token with it</label>${copyButton('curl', 'curl')}</div>
    <pre id="curl">${curlSnippet(target, clientSecret)}</pre>
    <p><a href="/console/keypairs/${keypair.clientId}">Go to the keypair</a></p>
  </section>
  <section class="card" aria-labelledby="code-heading">
    <h2 id="code-heading">Use it in code</h2>
    <p>These read the secret from the <code>${SECRET_VARIABLE}</code> environment variable, so that it stays out of source files: <code>export ${SECRET_VARIABLE}='…'</code> with the secret above.</p>
    ${codeBlock('snippet-node', 'Node.js (fetch)', 'Node.js code', nodeSnippet(target))}
    ${codeBlock('snippet-python', 'Python (requests)', 'Python code', pythonSnippet(target))}
    ${codeBlock('snippet-go', 'Go (golang.org/x/oauth2/clientcredentials)', 'Go code', goSnippet(target))}
    ${codeBlock('snippet-verifier', 'The resource server: check the tokens (@keygate/verifier)', 'resource server code', verifierSnippet(target))}
  </section>`;
}

/** The one view of a new secret. */
export function secretPage(frame: PageFrame, keypair: Keypair, view: { title: string; clientSecret: string; verb: string }, target: SnippetTarget): Html {
  return layout(frame, view.title, secretPanel(keypair, view.clientSecret, target, view.verb));
}

/** Where the one view of a new secret was: it is not kept, so a reload finds it gone. */
export function secretGonePage(frame: PageFrame, keypair: Keypair): Html {
  return layout(frame, 'The secret was shown once', html`<section class="card"><p role="status">This secret was shown once and is not kept: it cannot be shown again. If it was not copied, rotate the secret to get a new one.</p>
        <p><a href="/console/keypairs/${keypair.clientId}">Go to the keypair</a></p></section>`);
}
