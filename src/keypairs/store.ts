import type { Knex } from 'knex';
import { withPgErrors, type PgErrorContext } from '../db/errors.js';
import type { Federation } from './federation.js';
import type { StoredPublicKey } from './public_keys.js';
import { secretHint } from './secret.js';

/** How a keypair's client authenticates (keypairs.credential_type). */
export type CredentialType = 'secret' | 'public_key' | 'federated';

/** A keypairs row joined with its current secret's last4, as PostgreSQL returns it. */
interface KeypairRow {
  client_id: string;
  account_id: string;
  environment_id: string | null;
  name: string;
  comment: string;
  enabled: boolean;
  expires_at: Date | null;
  disabled_at: Date | null;
  disabled_by: string | null;
  disabled_reason: string | null;
  last_used_at: Date | null;
  rate_limit_per_minute: number | null;
  allowed_ips: string[];
  auto_disable: boolean | null;
  created_by: string;
  version: number;
  created_at: Date;
  updated_at: Date;
  current_last4: string | null;
  grants: GrantRow[];
  credential_type: CredentialType;
  public_keys: StoredPublicKey[];
  federation_issuer_id: string | null;
  /** The trusted issuer's `issuer`, joined. */
  federation_issuer: string | null;
  federation_subject: string | null;
  federation_claims: Record<string, string>;
  require_dpop: boolean;
}

interface GrantRow {
  resource_server_id: string;
  identifier: string;
  is_default: boolean;
  scopes: string[];
}

/** Scopes a keypair holds at one resource server. */
export interface Grant {
  readonly resourceServerId: string;
  /** The resource server's identifier (the tokens' `aud`). */
  readonly resourceServer: string;
  readonly scopes: readonly string[];
}

/** A keypair as the domain sees it. It never holds a secret, only the hint. */
export interface Keypair {
  readonly clientId: string;
  readonly accountId: string;
  readonly environmentId: string | null;
  readonly name: string;
  readonly comment: string;
  /** The scopes granted at the default resource server (the shorthand of the admin API). */
  readonly scopes: readonly string[];
  /** One per resource server the keypair holds scopes at, in identifier order. */
  readonly grants: readonly Grant[];
  readonly enabled: boolean;
  readonly expiresAt: Date | null;
  readonly disabledAt: Date | null;
  readonly disabledBy: string | null;
  readonly disabledReason: string | null;
  readonly lastUsedAt: Date | null;
  /** null: the server default. */
  readonly rateLimitPerMinute: number | null;
  /** Empty: token requests may come from anywhere. */
  readonly allowedIps: readonly string[];
  /** null: the server default. */
  readonly autoDisable: boolean | null;
  readonly createdBy: string;
  readonly version: number;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  /** null for a keypair with no secret (public_key, federated). */
  readonly secretHint: string | null;
  readonly credentialType: CredentialType;
  /** A public_key keypair's keys; empty for the others. */
  readonly publicKeys: readonly StoredPublicKey[];
  /** A federated keypair's trusted issuer, subject and required claims; null for the others. */
  readonly federation: Federation | null;
  readonly requireDpop: boolean;
}

function toKeypair(row: KeypairRow): Keypair {
  return {
    clientId: row.client_id,
    accountId: row.account_id,
    environmentId: row.environment_id,
    name: row.name,
    comment: row.comment,
    scopes: row.grants.find((grant) => grant.is_default)?.scopes ?? [],
    grants: row.grants.map((grant) => ({ resourceServerId: grant.resource_server_id, resourceServer: grant.identifier, scopes: grant.scopes })),
    enabled: row.enabled,
    expiresAt: row.expires_at,
    disabledAt: row.disabled_at,
    disabledBy: row.disabled_by,
    disabledReason: row.disabled_reason,
    lastUsedAt: row.last_used_at,
    rateLimitPerMinute: row.rate_limit_per_minute,
    allowedIps: row.allowed_ips,
    autoDisable: row.auto_disable,
    createdBy: row.created_by,
    version: row.version,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    // A keyless keypair's one secret row only carries its status-list index: nobody holds that secret.
    secretHint: row.current_last4 === null || row.credential_type !== 'secret' ? null : secretHint(row.current_last4),
    credentialType: row.credential_type,
    publicKeys: row.public_keys,
    federation:
      row.federation_issuer_id === null || row.federation_subject === null
        ? null
        : { issuerId: row.federation_issuer_id, issuer: row.federation_issuer ?? '', subject: row.federation_subject, claims: row.federation_claims },
    requireDpop: row.require_dpop,
  };
}

const CURRENT_LAST4 = `(select s.last4 from keypair_secrets s
   where s.client_id = keypairs.client_id and s.expires_at is null
   order by s.created_at desc limit 1) as current_last4`;

const GRANTS = `(select coalesce(json_agg(json_build_object('resource_server_id', g.resource_server_id, 'identifier', r.identifier,
                                             'is_default', r.is_default, 'scopes', g.scopes) order by r.identifier collate "C"), '[]'::json)
   from keypair_grants g join resource_servers r on r.id = g.resource_server_id
  where g.client_id = keypairs.client_id) as grants`;

const FEDERATION_ISSUER = '(select t.issuer from trusted_issuers t where t.id = keypairs.federation_issuer_id) as federation_issuer';

function selectKeypairs(db: Knex | Knex.Transaction) {
  return db<KeypairRow>('keypairs').select('keypairs.*', db.raw(CURRENT_LAST4), db.raw(GRANTS), db.raw(FEDERATION_ISSUER));
}

export async function findKeypair(db: Knex | Knex.Transaction, clientId: string, options: { forUpdate?: boolean } = {}): Promise<Keypair | undefined> {
  const query = selectKeypairs(db).where('keypairs.client_id', clientId);
  if (options.forUpdate) void query.forUpdate();
  const row = (await query.first()) as KeypairRow | undefined;
  return row && toKeypair(row);
}

export type NewKeypairRow = Pick<
  KeypairRow,
  'client_id' | 'account_id' | 'environment_id' | 'name' | 'comment' | 'expires_at' | 'created_by' | 'created_at' | 'updated_at'
> &
  Partial<Pick<KeypairRow, 'rate_limit_per_minute' | 'allowed_ips' | 'auto_disable' | 'credential_type' | 'federation_issuer_id' | 'federation_subject' | 'require_dpop'>> & {
    /** jsonb columns, as JSON text: the pg driver would send a JS array as a PostgreSQL array. */
    public_keys?: string;
    federation_claims?: string;
  };

/** What a refused keypair write means: its owner closed meanwhile, or a value the edge let through. */
const KEYPAIR_WRITE: PgErrorContext = { foreignKey: { code: 'conflict', message: 'The owner of the keypair was closed meanwhile.' } };

/** Inserts one keypair, or many (bulk seeding: the caller chunks them). */
export async function insertKeypair(trx: Knex.Transaction, row: NewKeypairRow | readonly NewKeypairRow[]): Promise<void> {
  await withPgErrors(trx('keypairs').insert(Array.isArray(row) ? [...row] : row), KEYPAIR_WRITE);
}

export interface KeypairChanges {
  name?: string;
  comment?: string;
  rate_limit_per_minute?: number | null;
  allowed_ips?: string[];
  auto_disable?: boolean | null;
  enabled?: boolean;
  disabled_at?: Date | null;
  disabled_by?: string | null;
  disabled_reason?: string | null;
  /** JSON text of the StoredPublicKey[] (jsonb). */
  public_keys?: string;
  federation_subject?: string;
  /** JSON text of the claims (jsonb). */
  federation_claims?: string;
  require_dpop?: boolean;
}

/** Applies `changes`, bumps `version` and `updated_at`. */
export async function updateKeypairRow(trx: Knex.Transaction, clientId: string, changes: KeypairChanges, now: Date): Promise<void> {
  await withPgErrors(
    trx('keypairs')
      .where({ client_id: clientId })
      .update({ ...changes, updated_at: now, version: trx.raw('version + 1') }),
    KEYPAIR_WRITE,
  );
}

/** Bumps `version` and `updated_at` of these keypairs: a change made elsewhere (their grants narrowed). */
export async function bumpVersions(trx: Knex.Transaction, clientIds: readonly string[], now: Date): Promise<void> {
  if (clientIds.length === 0) return;
  await trx('keypairs').whereIn('client_id', [...clientIds]).update({ version: trx.raw('version + 1'), updated_at: now });
}

export async function deleteKeypairRow(trx: Knex.Transaction, clientId: string): Promise<void> {
  await trx('keypairs').where({ client_id: clientId }).delete();
}

export interface NewSecretRow {
  id: string;
  client_id: string;
  secret_sha256: Buffer;
  last4: string;
  created_at: Date;
}

/** Inserts secrets, each with the next status-list index. */
export async function insertSecret(trx: Knex.Transaction, row: NewSecretRow | NewSecretRow[]): Promise<void> {
  const rows = Array.isArray(row) ? row : [row];
  await withPgErrors(trx('keypair_secrets').insert(rows.map((secret) => ({ ...secret, status_idx: trx.raw("nextval('status_list_index_seq')") }))), {
    foreignKey: { code: 'not_found', message: 'Keypair not found.' },
  });
}

/**
 * Rotation bookkeeping: the current secret is retired at `previousExpiresAt` (now for
 * no grace), and every secret retired before dies now if it still lived. Retired
 * digests stay (until cleanup, EXPIRED_RETENTION_DAYS) so that a request with one is
 * refused as `secret_retired` rather than as a guess.
 */
export async function retireSecrets(trx: Knex.Transaction, clientId: string, previousExpiresAt: Date, now: Date): Promise<void> {
  await trx('keypair_secrets').where({ client_id: clientId }).where('expires_at', '>', now).update({ expires_at: now });
  const expiresAt = previousExpiresAt.getTime() <= now.getTime() ? now : previousExpiresAt;
  await trx('keypair_secrets').where({ client_id: clientId }).whereNull('expires_at').update({ expires_at: expiresAt });
}

// The token path's reads and its batched write, in their own file; re-exported for its callers.
export { findCredentialsOf, listEnabledCredentials, writeLastUsed, type KeypairCredentials } from './credentials_store.js';

/** Deletes secret digests retired before `before` (cleanup); returns how many. */
export async function deleteSecretsRetiredBefore(db: Knex, before: Date): Promise<number> {
  return db('keypair_secrets').where('expires_at', '<', before).delete();
}

/**
 * The status indexes in [first, end) that are valid now: their secret still exists, is
 * not past its grace period, and belongs to an enabled, unexpired keypair.
 */
export async function validStatusIndexes(db: Knex, first: number, end: number, now: Date): Promise<number[]> {
  const valid = await db.raw<{ rows: Array<{ status_idx: number }> }>(
    `select s.status_idx
       from keypair_secrets s
       join keypairs k on k.client_id = s.client_id
      where s.status_idx >= ? and s.status_idx < ?
        and k.enabled
        and (k.expires_at is null or k.expires_at > ?)
        and (s.expires_at is null or s.expires_at > ?)`,
    [first, end, now, now],
  );
  return valid.rows.map((row) => Number(row.status_idx));
}

/**
 * Revokes the tokens issued so far by these keypairs without touching their secrets:
 * each live secret moves to a fresh index, so the old index belongs to no secret and
 * reads as invalid in its list, while tokens issued from now on carry the new one.
 * For a narrowing of a keypair's grants, whose old tokens may carry scopes it no
 * longer holds. Returns how many secrets moved.
 */
export async function reissueStatusIndexes(trx: Knex.Transaction, clientIds: readonly string[], now: Date): Promise<number> {
  if (clientIds.length === 0) return 0;
  return trx('keypair_secrets')
    .whereIn('client_id', [...clientIds])
    .where((live) => void live.whereNull('expires_at').orWhere('expires_at', '>', now))
    .update({ status_idx: trx.raw("nextval('status_list_index_seq')") });
}

export interface KeypairListOptions {
  readonly enabled?: boolean | undefined;
  /** Case-insensitive substring of the name. */
  readonly q?: string | undefined;
  readonly limit: number;
  /** Resume after this keypair (the cursor): order is created_at, then client_id. */
  readonly after?: { readonly createdAt: Date; readonly clientId: string } | undefined;
}

/** Keypairs of one owner: an account's own (environmentId null) or one environment's. */
export async function listKeypairs(db: Knex, owner: { accountId: string; environmentId: string | null }, options: KeypairListOptions): Promise<Keypair[]> {
  const query = selectKeypairs(db).where('keypairs.account_id', owner.accountId);
  if (owner.environmentId === null) void query.whereNull('keypairs.environment_id');
  else void query.where('keypairs.environment_id', owner.environmentId);
  if (options.enabled !== undefined) void query.where('keypairs.enabled', options.enabled);
  if (options.q) void query.whereRaw("keypairs.name ilike ? escape '\\'", [`%${options.q.replace(/[\\%_]/g, '\\$&')}%`]);
  if (options.after) {
    void query.whereRaw('(keypairs.created_at, keypairs.client_id) > (?::timestamptz, ?)', [options.after.createdAt.toISOString(), options.after.clientId]);
  }
  const rows = (await withPgErrors(query.orderBy('keypairs.created_at').orderBy('keypairs.client_id').limit(options.limit), { field: 'cursor' })) as KeypairRow[];
  return rows.map(toKeypair);
}

/**
 * Marks the enabled keypairs that expire in (now, until] and were not warned yet, and
 * returns them: one UPDATE picks and marks, so with several processes each is warned once.
 */
export async function markExpiringWarned(trx: Knex.Transaction, now: Date, until: Date): Promise<Array<{ clientId: string; name: string; accountId: string; environmentId: string | null; expiresAt: Date }>> {
  const rows = await trx('keypairs')
    .where('enabled', true)
    .whereNull('expiry_warned_at')
    .where('expires_at', '>', now)
    .where('expires_at', '<=', until)
    .update({ expiry_warned_at: now })
    .returning<Array<{ client_id: string; name: string; account_id: string; environment_id: string | null; expires_at: Date }>>(['client_id', 'name', 'account_id', 'environment_id', 'expires_at']);
  return rows.map((row) => ({ clientId: row.client_id, name: row.name, accountId: row.account_id, environmentId: row.environment_id, expiresAt: row.expires_at }));
}

/** Keypairs that expired before `cutoff`, the longest expired first. */
export async function listExpiredBefore(db: Knex, cutoff: Date): Promise<string[]> {
  return db('keypairs').where('expires_at', '<', cutoff).orderBy('expires_at').pluck<string[]>('client_id');
}

/** Enabled, unexpired keypairs of one owner: what MAX_ACTIVE_KEYPAIRS counts. */
export async function countActiveKeypairs(trx: Knex.Transaction, owner: { accountId: string; environmentId: string | null }, now: Date): Promise<number> {
  const query = trx('keypairs').where({ account_id: owner.accountId, enabled: true }).where((q) => void q.whereNull('expires_at').orWhere('expires_at', '>', now));
  if (owner.environmentId === null) void query.whereNull('environment_id');
  else void query.where('environment_id', owner.environmentId);
  const [row] = await query.count<{ count: number }[]>({ count: '*' });
  return Number(row?.count ?? 0);
}

/** A keypair deleted with its owner: what the audit event of its deletion records. */
export interface DeletedKeypair {
  readonly clientId: string;
  readonly accountId: string;
  readonly environmentId: string | null;
  readonly name: string;
}

/** Deletes every keypair of an account (its environments' too) or of one environment, with their secrets and grants. */
export async function deleteKeypairsOf(trx: Knex.Transaction, owner: { accountId: string } | { environmentId: string }): Promise<DeletedKeypair[]> {
  const where = 'environmentId' in owner ? { environment_id: owner.environmentId } : { account_id: owner.accountId };
  const rows = await trx('keypairs').where(where).delete().returning<Array<{ client_id: string; account_id: string; environment_id: string | null; name: string }>>(['client_id', 'account_id', 'environment_id', 'name']);
  return rows.map((row) => ({ clientId: row.client_id, accountId: row.account_id, environmentId: row.environment_id, name: row.name }));
}
