import type { Knex } from 'knex';
import { withPgErrors, type PgErrorContext } from '../db/errors.js';

/** A JWK Set of public keys, as an issuer publishes it. */
export interface Jwks {
  readonly keys: ReadonlyArray<Record<string, unknown>>;
}

export interface TrustedIssuer {
  readonly id: string;
  /** The tokens' `iss`, exactly. */
  readonly issuer: string;
  readonly name: string;
  /** null with `jwks` null: the jwks_uri of the issuer's discovery document. */
  readonly jwksUri: string | null;
  readonly jwks: Jwks | null;
  /** The `aud` its tokens must carry; null: Keygate's ISSUER. */
  readonly audience: string | null;
  /** Federated keypairs using it (within the reader's reach, see KeypairReach). */
  readonly keypairCount: number;
  readonly createdBy: string;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly version: number;
}

/** The fields an operator sets; `keypairCount`, timestamps and version are Keygate's. */
export type TrustedIssuerFields = Pick<TrustedIssuer, 'issuer' | 'name' | 'jwksUri' | 'jwks' | 'audience'>;

/**
 * Whose keypairs `keypairCount` counts: undefined counts every one (operators); an
 * admin counts only the keypairs it manages, as the rest belong to other tenants.
 */
export interface KeypairReach {
  readonly accountIds: readonly string[];
  readonly environmentIds: readonly string[];
}

interface TrustedIssuerRow {
  id: string;
  issuer: string;
  name: string;
  jwks_uri: string | null;
  jwks: Jwks | null;
  audience: string | null;
  created_by: string;
  created_at: Date;
  updated_at: Date;
  version: number;
  keypair_count: string | number;
}

function toTrustedIssuer(row: TrustedIssuerRow): TrustedIssuer {
  return {
    id: row.id,
    issuer: row.issuer,
    name: row.name,
    jwksUri: row.jwks_uri,
    jwks: row.jwks,
    audience: row.audience,
    // count(*) is a bigint, which pg returns as a string.
    keypairCount: Number(row.keypair_count),
    createdBy: row.created_by,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    version: row.version,
  };
}

/** trusted_issuers.* with the count of keypairs using each, within `reach`. */
function selectWithCount(db: Knex | Knex.Transaction, reach: KeypairReach | undefined) {
  const count = db('keypairs as k').count('*').whereRaw('k.federation_issuer_id = t.id');
  if (reach) {
    void count.where((inReach) => void inReach.whereIn('k.account_id', [...reach.accountIds]).orWhereIn('k.environment_id', [...reach.environmentIds]));
  }
  return db<TrustedIssuerRow>('trusted_issuers as t').select('t.*', count.as('keypair_count'));
}

/** Every trusted issuer, oldest first. */
export async function listTrustedIssuers(db: Knex | Knex.Transaction, reach?: KeypairReach): Promise<TrustedIssuer[]> {
  const rows = await selectWithCount(db, reach).orderBy('t.created_at').orderBy('t.id');
  return rows.map(toTrustedIssuer);
}

/** One trusted issuer, or undefined when there is none with this id. */
export async function findTrustedIssuer(db: Knex | Knex.Transaction, id: string, reach?: KeypairReach): Promise<TrustedIssuer | undefined> {
  const row = await selectWithCount(db, reach).where('t.id', id).first();
  return row && toTrustedIssuer(row);
}

/**
 * Locks the row for the caller's change: a keypair created meanwhile with a reference
 * to it (which takes a key-share lock on it) waits, so a count read after this holds.
 */
export async function lockTrustedIssuer(trx: Knex.Transaction, id: string): Promise<boolean> {
  return (await trx('trusted_issuers').where({ id }).forUpdate().first('id')) !== undefined;
}

/** The keypairs that accept its tokens: their cached credentials must be re-read when it changes. */
export async function keypairsUsing(trx: Knex.Transaction, id: string): Promise<string[]> {
  const rows = await trx('keypairs').where({ federation_issuer_id: id }).orderBy('client_id').select<Array<{ client_id: string }>>('client_id');
  return rows.map((row) => row.client_id);
}

const DUPLICATE_ISSUER = 'A trusted issuer with this issuer exists.';
const WRITE_ERRORS: PgErrorContext = { unique: DUPLICATE_ISSUER };

const jwksColumn = (jwks: Jwks | null) => (jwks === null ? null : JSON.stringify(jwks));

/** Inserts it; an issuer taken meanwhile (a concurrent create) is a conflict. */
export async function insertTrustedIssuer(trx: Knex.Transaction, id: string, fields: TrustedIssuerFields, createdBy: string, now: Date): Promise<void> {
  await withPgErrors(
    trx('trusted_issuers').insert({
      id,
      issuer: fields.issuer,
      name: fields.name,
      jwks_uri: fields.jwksUri,
      jwks: jwksColumn(fields.jwks),
      audience: fields.audience,
      created_by: createdBy,
      created_at: now,
      updated_at: now,
    }),
    WRITE_ERRORS,
  );
}

/** Writes every field, bumps `version` and `updated_at`. */
export async function updateTrustedIssuerRow(trx: Knex.Transaction, id: string, fields: TrustedIssuerFields, now: Date): Promise<void> {
  await withPgErrors(
    trx('trusted_issuers').where({ id }).update({
      issuer: fields.issuer,
      name: fields.name,
      jwks_uri: fields.jwksUri,
      jwks: jwksColumn(fields.jwks),
      audience: fields.audience,
      updated_at: now,
      version: trx.raw('version + 1'),
    }),
    WRITE_ERRORS,
  );
}

/** Deletes it; a keypair that came to use it meanwhile (foreign key) is a conflict. */
export async function deleteTrustedIssuerRow(trx: Knex.Transaction, id: string): Promise<void> {
  await withPgErrors(trx('trusted_issuers').where({ id }).delete(), {
    foreignKey: { code: 'conflict', message: 'A keypair came to use this trusted issuer meanwhile; delete its keypairs first.' },
  });
}
