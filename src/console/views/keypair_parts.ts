import type { Grant, Keypair } from '../../keypairs/store.js';
import type { ResourceServer } from '../../resource_servers/store.js';
import { html, type Html } from '../html.js';
import { credentialHint } from './keyless.js';
import { when } from './layout.js';

export function keypairState(keypair: Keypair, now: Date): Html {
  if (!keypair.enabled) return html`<span class="state disabled">disabled</span>`;
  if (keypair.expiresAt && keypair.expiresAt.getTime() <= now.getTime()) return html`<span class="state expired">expired</span>`;
  return html`<span class="state enabled">enabled</span>`;
}

/**
 * The keypair list: one row per keypair, linking to its page. Each cell names its
 * column (data-label) for the phone layout, where rows become cards.
 */
export function keypairTable(keypairs: readonly Keypair[], creators: ReadonlyMap<string, { name: string; email: string }>, now: Date, caption: string): Html {
  return html`<table class="rows">
    <caption class="visually-hidden">${caption}</caption>
    <thead><tr><th scope="col">Name</th><th scope="col">Comment</th><th scope="col">Credential</th><th scope="col">Grants</th><th scope="col">State</th><th scope="col">Last used</th><th scope="col">Expires</th><th scope="col">Created by</th></tr></thead>
    <tbody>${keypairs.map(
      (keypair) => html`<tr>
        <td data-label="Name"><div><a href="/console/keypairs/${keypair.clientId}">${keypair.name}</a><br><code>${keypair.clientId}</code></div></td>
        <td data-label="Comment" class="prose"><div>${keypair.comment}</div></td>
        <td data-label="Credential"><div><code>${credentialHint(keypair)}</code></div></td>
        <td data-label="Grants"><div>${grantList(keypair.grants)}</div></td>
        <td data-label="State"><div>${keypairState(keypair, now)}</div></td>
        <td data-label="Last used"><div>${when(keypair.lastUsedAt, now)}</div></td>
        <td data-label="Expires"><div>${when(keypair.expiresAt, now)}</div></td>
        <td data-label="Created by" class="prose"><div>${creatorCell(creators.get(keypair.createdBy), keypair.createdBy)}</div></td>
      </tr>`,
    )}</tbody>
  </table>`;
}

/** The creator's name, its email on hover (a list has no room for both); an id that names no user as it is. */
function creatorCell(creator: { name: string; email: string } | undefined, id: string): Html {
  return creator ? html`<span title="${creator.email}">${creator.name}</span>` : html`${id}`;
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
