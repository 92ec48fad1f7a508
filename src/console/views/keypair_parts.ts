import type { Grant, Keypair } from '../../keypairs/store.js';
import type { ResourceServer } from '../../resource_servers/store.js';
import { html, type Html } from '../html.js';
import { when } from './layout.js';

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

/** A keypair's grants, one line per resource server. */
export function grantList(grants: readonly Grant[]): Html {
  if (grants.length === 0) return html`none`;
  return html`<ul class="grants">${grants.map((grant) => html`<li><code>${grant.resourceServer}</code>: ${grant.scopes.join(' ')}</li>`)}</ul>`;
}
