import type { Knex } from 'knex';
import { isAvailableTo, lockResourceServers, type ResourceServer } from '../resource_servers/store.js';
import type { FieldError } from '../shared/errors.js';
import type { Grant } from './store.js';

/** A grant as admins name it: the resource server by its identifier. */
export interface GrantInput {
  readonly resourceServer: string;
  readonly scopes: readonly string[];
}

/**
 * What a keypair may ask for: `grants`, and `scopes` as the shorthand for the grant
 * at the default resource server. Both may be given when `grants` does not name
 * the default resource server.
 */
export interface GrantsInput {
  readonly scopes?: readonly string[] | undefined;
  readonly grants?: readonly GrantInput[] | undefined;
}

/**
 * The resource servers `input` names and the default one, read in the write's
 * transaction and locked against a concurrent change (which waits, then sees the
 * grants written): a stale in-memory catalogue cannot let a grant through.
 */
export async function serversFor(trx: Knex.Transaction, input: GrantsInput): Promise<ResourceServer[]> {
  if (input.scopes === undefined && input.grants === undefined) return [];
  return lockResourceServers(trx, (input.grants ?? []).map((grant) => grant.resourceServer));
}

/**
 * The grants `input` asks for, checked against `servers` (those it names and the
 * default one) and what is available to the account, in identifier order; undefined
 * when it changes none. `current`: the grants kept when only the shorthand `scopes` is given.
 */
export function resolveGrants(accountId: string, input: GrantsInput, current: readonly Grant[], servers: readonly ResourceServer[]): { grants: Grant[] | undefined; errors: FieldError[] } {
  if (input.scopes === undefined && input.grants === undefined) return { grants: undefined, errors: [] };
  const errors: FieldError[] = [];
  const grants = new Map<string, Grant>();
  const byIdentifier = new Map(servers.map((server) => [server.identifier, server]));
  const defaultServer = servers.find((server) => server.isDefault);
  if (input.grants === undefined) {
    for (const grant of current) if (grant.resourceServerId !== defaultServer?.id) grants.set(grant.resourceServerId, grant);
  }
  for (const [index, grant] of (input.grants ?? []).entries()) {
    const server = byIdentifier.get(grant.resourceServer);
    // A server hidden from the account reads exactly like one that does not exist.
    if (!server || !isAvailableTo(server, accountId)) {
      errors.push({ field: `grants[${index}].resourceServer`, message: 'is not a resource server available to this account' });
      continue;
    }
    if (grants.has(server.id)) {
      errors.push({ field: `grants[${index}].resourceServer`, message: 'is named by an earlier grant' });
      continue;
    }
    if (grant.scopes.length === 0) errors.push({ field: `grants[${index}].scopes`, message: 'must name at least one scope (leave the grant out to grant nothing there)' });
    const catalogue = new Set(server.scopes.map((scope) => scope.name));
    for (const [scopeIndex, scope] of grant.scopes.entries()) {
      if (!catalogue.has(scope)) errors.push({ field: `grants[${index}].scopes[${scopeIndex}]`, message: `is not defined by ${server.identifier}` });
    }
    grants.set(server.id, { resourceServerId: server.id, resourceServer: server.identifier, scopes: uniqueScopes(grant.scopes) });
  }
  if (input.scopes !== undefined) {
    if (!defaultServer || !isAvailableTo(defaultServer, accountId)) {
      if (input.scopes.length > 0) errors.push({ field: 'scopes', message: 'there is no default resource server available to this account; use grants' });
    } else if (input.grants?.some((grant) => grant.resourceServer === defaultServer.identifier)) {
      errors.push({ field: 'scopes', message: `give the scopes of the default resource server (${defaultServer.identifier}) in scopes or in grants, not both` });
    } else {
      const catalogue = new Set(defaultServer.scopes.map((scope) => scope.name));
      const unknown = input.scopes.filter((scope) => !catalogue.has(scope));
      if (unknown.length > 0) errors.push({ field: 'scopes', message: `not defined by the default resource server (${defaultServer.identifier}): ${unknown.join(', ')}` });
      if (input.scopes.length > 0) grants.set(defaultServer.id, { resourceServerId: defaultServer.id, resourceServer: defaultServer.identifier, scopes: uniqueScopes(input.scopes) });
    }
  }
  const sorted = [...grants.values()].sort((a, b) => (a.resourceServer < b.resourceServer ? -1 : a.resourceServer > b.resourceServer ? 1 : 0));
  return { grants: sorted, errors };
}

/** The shorthand: the scopes granted at the default resource server. */
export function defaultScopes(grants: readonly Grant[], defaultServerId: string | undefined): readonly string[] {
  return grants.find((grant) => grant.resourceServerId === defaultServerId)?.scopes ?? [];
}

/** True when `after` takes away a scope `before` granted somewhere. */
export function narrows(before: readonly Grant[], after: readonly Grant[]): boolean {
  return before.some((grant) => {
    const kept = new Set(after.find((candidate) => candidate.resourceServerId === grant.resourceServerId)?.scopes ?? []);
    return grant.scopes.some((scope) => !kept.has(scope));
  });
}

function uniqueScopes(scopes: readonly string[]): string[] {
  return [...new Set(scopes)];
}
