import type { Knex } from 'knex';
import { translatePgError, type PgErrorContext } from '../db/errors.js';

export interface ScopeDefinition {
  readonly name: string;
  readonly description: string;
}

export interface ResourceServer {
  readonly id: string;
  /** The RFC 8707 resource indicator and the tokens' `aud`. */
  readonly identifier: string;
  readonly name: string;
  readonly scopes: readonly ScopeDefinition[];
  /** Seconds. */
  readonly accessTokenTtl: number;
  readonly isDefault: boolean;
  /** Accounts whose keypairs may hold grants here; null: every account. */
  readonly availableTo: readonly string[] | null;
}

interface ResourceServerRow {
  id: string;
  identifier: string;
  name: string;
  scopes: ScopeDefinition[];
  access_token_ttl: number;
  is_default: boolean;
  available_to: string[] | null;
}

function toResourceServer(row: ResourceServerRow): ResourceServer {
  return {
    id: row.id,
    identifier: row.identifier,
    name: row.name,
    scopes: row.scopes,
    accessTokenTtl: row.access_token_ttl,
    isDefault: row.is_default,
    availableTo: row.available_to,
  };
}

export async function listResourceServers(db: Knex | Knex.Transaction): Promise<ResourceServer[]> {
  const rows = await db<ResourceServerRow>('resource_servers').select('*').orderBy('created_at').orderBy('id');
  return rows.map(toResourceServer);
}

/**
 * The resource servers with these identifiers and the default one, read FOR SHARE: a
 * change to them (which locks the row FOR UPDATE) waits for the caller's transaction.
 */
export async function lockResourceServers(trx: Knex.Transaction, identifiers: readonly string[]): Promise<ResourceServer[]> {
  const rows = await trx<ResourceServerRow>('resource_servers')
    .where((named) => void named.whereIn('identifier', [...identifiers]).orWhere({ is_default: true }))
    .orderBy('id')
    .forShare();
  return rows.map(toResourceServer);
}

/** A write that a concurrent create or default change beat to a unique key. */
const UNIQUE_SERVER: PgErrorContext = {
  unique: { resource_servers_one_default_idx: 'Another resource server became the default meanwhile; try again.', default: 'A resource server with this identifier exists.' },
};

/** Inserts `server`; an identifier taken meanwhile (a concurrent create) is a conflict. */
export async function insertResourceServer(trx: Knex.Transaction, server: Omit<ResourceServer, 'availableTo'> & { availableTo?: readonly string[] | null }, now: Date): Promise<void> {
  await trx('resource_servers').insert({
    id: server.id,
    identifier: server.identifier,
    name: server.name,
    scopes: JSON.stringify(server.scopes),
    access_token_ttl: server.accessTokenTtl,
    is_default: server.isDefault,
    available_to: server.availableTo ? [...server.availableTo] : null,
    created_at: now,
    updated_at: now,
  }).catch((error: unknown) => translatePgError(error, UNIQUE_SERVER));
}

export async function findResourceServerByIdentifier(db: Knex | Knex.Transaction, identifier: string): Promise<ResourceServer | undefined> {
  const row = await db<ResourceServerRow>('resource_servers').where({ identifier }).first();
  return row && toResourceServer(row);
}

/** One resource server, its row locked for the caller's change. */
export async function lockResourceServer(trx: Knex.Transaction, id: string): Promise<ResourceServer | undefined> {
  const row = await trx<ResourceServerRow>('resource_servers').where({ id }).forUpdate().first();
  return row && toResourceServer(row);
}

/** No resource server is the default any more (but `exceptId`): the step before another becomes it. */
export async function clearDefault(trx: Knex.Transaction, now: Date, exceptId?: string): Promise<void> {
  const query = trx('resource_servers').where({ is_default: true });
  if (exceptId !== undefined) void query.whereNot({ id: exceptId });
  await query.update({ is_default: false, updated_at: now });
}

/** Applies the fields given; becoming the default while another did meanwhile is a conflict. */
export async function updateResourceServerRow(
  trx: Knex.Transaction,
  id: string,
  changes: Partial<Pick<ResourceServer, 'name' | 'scopes' | 'accessTokenTtl' | 'isDefault' | 'availableTo'>>,
  now: Date,
): Promise<void> {
  await trx('resource_servers').where({ id }).update({
    ...(changes.name !== undefined && { name: changes.name }),
    ...(changes.scopes !== undefined && { scopes: JSON.stringify(changes.scopes) }),
    ...(changes.accessTokenTtl !== undefined && { access_token_ttl: changes.accessTokenTtl }),
    ...(changes.isDefault !== undefined && { is_default: changes.isDefault }),
    ...(changes.availableTo !== undefined && { available_to: changes.availableTo === null ? null : [...changes.availableTo] }),
    updated_at: now,
  }).catch((error: unknown) => translatePgError(error, UNIQUE_SERVER));
}

/** Whether keypairs of `accountId` may hold grants at `server`. */
export function isAvailableTo(server: ResourceServer, accountId: string): boolean {
  return server.availableTo === null || server.availableTo.includes(accountId);
}
