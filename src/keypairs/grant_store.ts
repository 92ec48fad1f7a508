import type { Knex } from 'knex';
import { withPgErrors } from '../db/errors.js';
import type { GrantsAtServer } from '../resource_servers/service.js';
import { bumpVersions, reissueStatusIndexes } from './store.js';

/** Keypairs' grants (keypair_grants): what a keypair may ask for, per resource server. */

/** A grant as written: the resource server by id. */
export interface GrantChange {
  readonly resourceServerId: string;
  readonly scopes: readonly string[];
}

/** Replaces every grant of these keypairs with `grants` (the same for each). A resource server gone meanwhile is a 409. */
export async function replaceGrants(trx: Knex.Transaction, clientIds: readonly string[], grants: readonly GrantChange[]): Promise<void> {
  await trx('keypair_grants').whereIn('client_id', [...clientIds]).delete();
  const rows = clientIds.flatMap((clientId) => grants.map((grant) => ({ client_id: clientId, resource_server_id: grant.resourceServerId, scopes: [...grant.scopes] })));
  for (let start = 0; start < rows.length; start += 1000) {
    await withPgErrors(trx('keypair_grants').insert(rows.slice(start, start + 1000)), {
      foreignKey: { code: 'conflict', message: 'A resource server of the grants was removed meanwhile; fetch them again.' },
      field: 'grants',
    });
  }
}

/**
 * Drops the grants at `resourceServerId` of keypairs outside `accountIds` (the server
 * was limited to them), revokes those keypairs' tokens and bumps their versions;
 * returns their client_ids.
 */
export async function removeGrantsOutsideAccounts(trx: Knex.Transaction, resourceServerId: string, accountIds: readonly string[], now: Date): Promise<string[]> {
  const removed = await trx.raw<{ rows: Array<{ client_id: string }> }>(
    `delete from keypair_grants g using keypairs k
      where g.client_id = k.client_id and g.resource_server_id = ? and not (k.account_id = any(?::text[]))
      returning g.client_id`,
    [resourceServerId, [...accountIds]],
  );
  return narrowed(trx, removed.rows.map((row) => row.client_id), now);
}

/**
 * Takes the scopes outside `catalogue` out of the grants at `resourceServerId` and
 * removes grants left empty, so a scope defined again later is not granted anew to its
 * old holders; revokes the tokens of the keypairs narrowed and returns their client_ids.
 */
export async function removeScopesOutsideCatalogue(trx: Knex.Transaction, resourceServerId: string, catalogue: readonly string[], now: Date): Promise<string[]> {
  // A grant keeps at least one scope (its CHECK): those left with none go first.
  const emptied = await trx.raw<{ rows: Array<{ client_id: string }> }>(
    `delete from keypair_grants where resource_server_id = ? and not (scopes && ?::text[]) returning client_id`,
    [resourceServerId, [...catalogue]],
  );
  const narrowedRows = await trx.raw<{ rows: Array<{ client_id: string }> }>(
    `update keypair_grants g
        set scopes = array(select t.s from unnest(g.scopes) with ordinality as t(s, ord) where t.s = any(?::text[]) order by t.ord)
      where g.resource_server_id = ? and not (g.scopes <@ ?::text[])
      returning g.client_id`,
    [[...catalogue], resourceServerId, [...catalogue]],
  );
  return narrowed(trx, [...emptied.rows, ...narrowedRows.rows].map((row) => row.client_id), now);
}

/** Keypairs whose grants were narrowed: their tokens revoked (a fresh status index), their versions bumped. */
async function narrowed(trx: Knex.Transaction, clientIds: string[], now: Date): Promise<string[]> {
  if (clientIds.length === 0) return [];
  await reissueStatusIndexes(trx, clientIds, now);
  await bumpVersions(trx, clientIds, now);
  return clientIds;
}

/** What a resource server's narrowing does to the grants there (ResourceServerService's dependency). */
export const grantsAtServer = {
  removeOutsideAccounts: removeGrantsOutsideAccounts,
  removeScopesOutside: removeScopesOutsideCatalogue,
} satisfies GrantsAtServer;
