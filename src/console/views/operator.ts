import { ACCESS_TOKEN_TTL_MAX_SECONDS, ACCESS_TOKEN_TTL_MIN_SECONDS, EMAIL_MAX_LENGTH, NAME_MAX_LENGTH } from '../../shared/limits.js';
import type { ResourceServer } from '../../resource_servers/store.js';
import type { FieldError } from '../../shared/errors.js';
import type { Account, Environment, User } from '../../tenancy/service.js';
import { html, type Html } from '../html.js';
import { csrfField, errorList, layout, type PageFrame } from './layout.js';

/** Every active account with its active environments, and the forms that add them. */
export function accountsPage(frame: PageFrame, accounts: ReadonlyArray<{ account: Account; environments: readonly Environment[] }>, errors: readonly FieldError[]): Html {
  const sections = accounts.map(({ account, environments }) => html`<section class="card"><h2><a href="/console/accounts/${account.id}">${account.name}</a> <code>${account.id}</code></h2>
          <ul>${environments.map((environment) => html`<li><a href="/console/environments/${environment.id}">${environment.name}</a> <code>${environment.id}</code></li>`)}</ul>
          <form method="post" action="/console/operator/accounts/${account.id}/environments" class="inline">${csrfField(frame)}
            <div><label for="env-${account.id}">New environment</label><input type="text" id="env-${account.id}" name="name" maxlength="${NAME_MAX_LENGTH}" required></div>
            <div><button type="submit" class="secondary">Add environment</button></div></form></section>`);
  return layout(frame, 'Accounts and environments', html`${errorList(errors)}
      <section class="card"><form method="post" action="/console/operator/accounts" class="inline">${csrfField(frame)}
        <div><label for="account-name">New account</label><input type="text" id="account-name" name="name" maxlength="${NAME_MAX_LENGTH}" required></div>
        <div><button type="submit">Create account</button></div></form></section>
      ${sections}`);
}

/** A place an admin may be granted, as the admins form offers it: `account:<id>` or `environment:<id>`. */
export interface AdminScopeChoice {
  readonly value: string;
  readonly label: string;
}

/** Every user with the places it administers (labels of `scopes`), and the form that grants more. */
export function adminsPage(frame: PageFrame, users: ReadonlyArray<{ user: User; labels: readonly string[] }>, scopes: readonly AdminScopeChoice[], errors: readonly FieldError[]): Html {
  const rows = users.map(({ user, labels }) => html`<tr><td data-label="Name"><div>${user.name}</div></td><td data-label="Email"><div>${user.email}</div></td><td data-label="Role"><div>${user.isOperator ? 'operator' : ''}</div></td><td data-label="Admin of"><div>${labels.join('; ')}</div></td></tr>`);
  return layout(frame, 'Admins', html`${errorList(errors)}
      <section class="card"><table class="rows"><thead><tr><th scope="col">Name</th><th scope="col">Email</th><th scope="col">Role</th><th scope="col">Admin of</th></tr></thead><tbody>${rows}</tbody></table></section>
      <section class="card"><h2>Make someone an admin</h2>
        <form method="post" action="/console/operator/admins">${csrfField(frame)}
          <label for="admin-email">Email <span class="hint">(a new user is created when none has it)</span></label><input type="email" id="admin-email" name="email" required maxlength="${EMAIL_MAX_LENGTH}">
          <label for="admin-name">Name</label><input type="text" id="admin-name" name="name" maxlength="${NAME_MAX_LENGTH}">
          <label for="admin-scope">Admin of</label><select id="admin-scope" name="scope">${scopes.map((scope) => html`<option value="${scope.value}">${scope.label}</option>`)}</select>
          <p><button type="submit">Grant</button></p></form></section>`);
}

/** The catalogue, and the form that adds a resource server (refilled from `form` after a refusal). */
export function resourceServersPage(frame: PageFrame, servers: readonly ResourceServer[], errors: readonly FieldError[], form: URLSearchParams | undefined): Html {
  return layout(frame, 'Resource servers', html`${errorList(errors)}
      ${servers.map((server) => html`<section class="card"><h2>${server.name}${server.isDefault ? ' (default)' : ''}</h2>
        <dl class="facts"><dt>Identifier (aud)</dt><dd><code>${server.identifier}</code></dd><dt>Token lifetime</dt><dd>${server.accessTokenTtl} seconds</dd><dt>Available to</dt><dd>${server.availableTo === null ? 'every account' : server.availableTo.join(', ') || 'no account'}</dd></dl>
        <table class="rows"><thead><tr><th scope="col">Scope</th><th scope="col">Description</th></tr></thead><tbody>${server.scopes.map((scope) => html`<tr><td data-label="Scope"><div><code>${scope.name}</code></div></td><td data-label="Description"><div>${scope.description}</div></td></tr>`)}</tbody></table></section>`)}
      <section class="card"><h2>Add a resource server</h2>
        <form method="post" action="/console/operator/resource-servers">${csrfField(frame)}
          <label for="rs-identifier">Identifier <span class="hint">(an absolute URI: the tokens' aud)</span></label><input type="text" id="rs-identifier" name="identifier" required value="${form?.get('identifier') ?? ''}">
          <label for="rs-name">Name</label><input type="text" id="rs-name" name="name" required maxlength="${NAME_MAX_LENGTH}" value="${form?.get('name') ?? ''}">
          <label for="rs-scopes">Scopes <span class="hint">(one per line: name, then a space and its description)</span></label><textarea id="rs-scopes" name="scopes">${form?.get('scopes') ?? ''}</textarea>
          <label for="rs-ttl">Token lifetime in seconds <span class="hint">(${ACCESS_TOKEN_TTL_MIN_SECONDS} to ${ACCESS_TOKEN_TTL_MAX_SECONDS})</span></label><input type="number" id="rs-ttl" name="accessTokenTtl" min="${ACCESS_TOKEN_TTL_MIN_SECONDS}" max="${ACCESS_TOKEN_TTL_MAX_SECONDS}" value="${form?.get('accessTokenTtl') ?? '300'}">
          <p><button type="submit">Add resource server</button></p></form></section>`);
}
