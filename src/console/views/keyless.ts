import type { TrustedIssuer } from '../../federation/store.js';
import type { Keypair } from '../../keypairs/store.js';
import { html, type Html } from '../html.js';
import { credentialChoiceOf } from '../keyless_form.js';
import { csrfField, when, type PageFrame } from './layout.js';
import { codeBlock } from './secret.js';
import { algorithmOf, federatedCurlSnippet, privateKeyJwtSnippet, type SnippetTarget } from './snippets.js';

/**
 * The parts of the console's pages about a keypair's credential when it is not a
 * secret: the create form's choice of credential, the keypair's keys or federation,
 * and the Settings tab's form to add and remove public keys.
 */

const CREDENTIAL_CHOICES = [
  ['secret', 'Secret', 'Keygate makes a secret, shown once; the client sends it with each token request.'],
  ['public_key', 'Public key', "The client signs each request with its own private key (private_key_jwt); you paste its public key. Nothing secret is stored here."],
  ['federated', 'Federated', "The workload sends the token its platform already gives it (Kubernetes, GitHub Actions), from a trusted issuer."],
] as const;

/** The create form's credential fieldset; with "Secret" chosen the other fields are hidden by the stylesheet (and ignored by the server). */
export function credentialFields(issuers: readonly TrustedIssuer[], values: URLSearchParams | undefined): Html {
  const chosen = credentialChoiceOf(values ?? new URLSearchParams());
  const value = (name: string) => values?.get(name) ?? '';
  return html`<fieldset class="credential"><legend>Credential</legend>
        ${CREDENTIAL_CHOICES.map(([choice, label, hint]) => html`<div class="choice"><input type="radio" id="credential-${choice}" name="credentialType" value="${choice}"${chosen === choice ? html` checked` : ''}><label class="choice-label" for="credential-${choice}">${label} <span class="hint">${hint}</span></label></div>`)}
        <div class="for-public_key">
          <label for="public-keys">Public keys <span class="hint">(1 to 5: PEM blocks, a JWK or a JWK Set; never the private key)</span></label>
          <textarea id="public-keys" name="publicKeys" rows="6" spellcheck="false">${value('publicKeys')}</textarea>
        </div>
        <div class="for-federated">
          ${issuers.length === 0
            ? html`<p class="hint">No trusted issuer yet: an operator adds one first (keygate trusted-issuers create).</p>`
            : html`<label for="federation-issuer">Trusted issuer</label><select id="federation-issuer" name="federationIssuer">
            ${issuers.map((issuer) => html`<option value="${issuer.issuer}"${value('federationIssuer') === issuer.issuer ? html` selected` : ''}>${issuer.name} (${issuer.issuer})</option>`)}</select>`}
          <label for="federation-subject">Subject <span class="hint">(the token's sub, exactly, such as system:serviceaccount:payments:api)</span></label><input type="text" id="federation-subject" name="federationSubject" value="${value('federationSubject')}">
          <label for="federation-claims">Claims that must match <span class="hint">(optional: one name=value a line, such as repository=acme/payments)</span></label><textarea id="federation-claims" name="federationClaims" rows="3" spellcheck="false">${value('federationClaims')}</textarea>
        </div>
        <div class="choice"><input type="checkbox" id="require-dpop" name="requireDpop" value="yes"${value('requireDpop') === 'yes' ? html` checked` : ''}><label class="choice-label" for="require-dpop">Require DPoP <span class="hint">(tokens only with a DPoP proof, bound to the client's key)</span></label></div>
      </fieldset>`;
}

/** A key's type as people name it: EC P-256, RSA, OKP Ed25519. */
const keyType = (jwk: { kty: string; crv?: string }) => (jwk.crv ? `${jwk.kty} ${jwk.crv}` : jwk.kty);

/** The Overview's lines about the credential. */
export function credentialFacts(keypair: Keypair, now: Date): Html {
  const dpop = html`<dt>Require DPoP</dt><dd>${keypair.requireDpop ? 'yes' : 'no'}</dd>`;
  if (keypair.credentialType === 'public_key') {
    return html`<dt>Credential</dt><dd>public key (private_key_jwt)</dd>
          <dt>Public keys</dt><dd><ul class="keys">${keypair.publicKeys.map((key) => html`<li><code>${key.thumbprint}</code> ${keyType(key.jwk)}${key.jwk.kid ? html`, kid <code>${key.jwk.kid}</code>` : ''}, added ${when(new Date(key.addedAt), now)}</li>`)}</ul></dd>${dpop}`;
  }
  if (keypair.credentialType === 'federated' && keypair.federation) {
    const claims = Object.entries(keypair.federation.claims);
    return html`<dt>Credential</dt><dd>federated</dd>
          <dt>Issuer</dt><dd><code>${keypair.federation.issuer}</code></dd>
          <dt>Subject</dt><dd><code>${keypair.federation.subject}</code></dd>
          <dt>Claims</dt><dd>${claims.length === 0 ? html`<span class="hint">none</span>` : html`<ul class="keys">${claims.map(([name, value]) => html`<li><code>${name}=${value}</code></li>`)}</ul>`}</dd>${dpop}`;
  }
  return html`<dt>Secret</dt><dd><code>${keypair.secretHint ?? ''}</code></dd>${dpop}`;
}

/** The list's credential cell: the secret's hint, or what stands for it. */
export function credentialHint(keypair: Keypair): string {
  if (keypair.credentialType === 'public_key') return `public key ${keypair.publicKeys[0]?.thumbprint.slice(0, 4) ?? ''}…`;
  if (keypair.credentialType === 'federated') return 'federated';
  return keypair.secretHint ?? '';
}

/** The Settings tab's keys section of a public_key keypair: remove one (not the last), add a pasted one. */
export function publicKeySettings(frame: PageFrame, keypair: Keypair, now: Date): Html {
  const base = `/console/keypairs/${keypair.clientId}/keys`;
  return html`<section class="card" aria-labelledby="keys-heading">
        <h2 id="keys-heading">Public keys</h2>
        <p class="hint">To rotate: add the new key, move the client to it, then remove the old one. A keypair with no secret has nothing to rotate here.</p>
        <ul class="keys">${keypair.publicKeys.map((key) => html`<li><code>${key.thumbprint}</code> ${keyType(key.jwk)}, added ${when(new Date(key.addedAt), now)}
          ${keypair.publicKeys.length > 1
            ? html`<form method="post" action="${base}/remove" class="inline">${csrfField(frame)}<input type="hidden" name="thumbprint" value="${key.thumbprint}"><button type="submit" class="secondary" aria-label="Remove key ${key.thumbprint}">Remove</button></form>`
            : ''}</li>`)}</ul>
        <form method="post" action="${base}/add">${csrfField(frame)}
          <label for="add-public-key">Add a public key <span class="hint">(PEM, a JWK or a JWK Set; never the private key)</span></label>
          <textarea id="add-public-key" name="publicKeys" rows="5" spellcheck="false" required></textarea>
          <p><button type="submit">Add key</button></p></form>
      </section>`;
}

/** How the client of a keyless keypair gets a token, filled in: the Overview's code section. */
export function keylessSnippets(keypair: Keypair, target: SnippetTarget): Html {
  const code = keypair.credentialType === 'public_key'
    ? codeBlock('snippet-private-key-jwt', 'Node.js (openid-client, private_key_jwt)', 'Node.js code', privateKeyJwtSnippet(target, algorithmOf(keypair.publicKeys[0]?.jwk ?? { kty: 'EC' })))
    : codeBlock('snippet-federated', 'curl, with the platform token as client assertion', 'curl', federatedCurlSnippet(target));
  return html`<section class="card" aria-labelledby="code-heading">
        <h2 id="code-heading">Get a token</h2>
        ${code}
        <p id="copy-status" role="status" class="hint"></p>
      </section>`;
}
