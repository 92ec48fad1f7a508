import type { JWK } from 'jose';
import type { Knex } from 'knex';

/** What the token path reads of keypairs (one query per keypair, or a page for the cache preload) and the last-used times it writes. */

/** What the token endpoint needs of a keypair, fetched in one query. */
export interface KeypairCredentials {
  readonly clientId: string;
  readonly accountId: string;
  readonly environmentId: string | null;
  /** Scope names per resource server id: a token for a resource server carries only those granted there. */
  readonly grants: ReadonlyMap<string, readonly string[]>;
  readonly enabled: boolean;
  readonly expiresAt: Date | null;
  readonly rateLimitPerMinute: number | null;
  readonly allowedIps: readonly string[];
  readonly autoDisable: boolean | null;
  /**
   * Its secrets' digests. A keypair with no secret (public_key, federated) has one row
   * whose digest is of bytes nobody holds: it carries the keypair's status-list index.
   */
  readonly secrets: ReadonlyArray<{ readonly sha256: Buffer; readonly expiresAt: Date | null; readonly statusIdx: number }>;
  /** How its client proves itself: a secret, a client assertion signed with one of `publicKeys`, or a trusted issuer's token. */
  readonly credentialType: CredentialType;
  /** public_key keypairs: the public JWKs its client assertions may be signed with. */
  readonly publicKeys: readonly JWK[];
  /** federated keypairs: the trusted issuer and what its token must say. */
  readonly federation: Federation | null;
  /** Tokens only with a DPoP proof, bound to its key. */
  readonly requireDpop: boolean;
}

export type CredentialType = 'secret' | 'public_key' | 'federated';

/** A federated keypair's trusted issuer (as it stands now) and the subject and claims its token must carry. */
export interface Federation {
  readonly trustedIssuerId: string;
  /** The token's `iss`, exactly. */
  readonly issuer: string;
  /** Its signing keys: at this URL, inline, or (both null) at the jwks_uri of its discovery document. */
  readonly jwksUri: string | null;
  readonly jwks: { readonly keys: readonly JWK[] } | null;
  /** The `aud` the token must carry; null: Keygate's issuer. */
  readonly audience: string | null;
  readonly subject: string;
  readonly claims: Readonly<Record<string, string>>;
}

interface CredentialsRow {
  client_id: string;
  account_id: string;
  environment_id: string | null;
  grants: Array<{ resource_server_id: string; scopes: string[] }>;
  enabled: boolean;
  expires_at: Date | null;
  rate_limit_per_minute: number | null;
  allowed_ips: string[];
  auto_disable: boolean | null;
  secrets: Array<{ sha256: string; expires_at: string | null; status_idx: number }>;
  credential_type: CredentialType;
  public_keys: Array<{ jwk: JWK; thumbprint: string }>;
  require_dpop: boolean;
  federation: (Omit<Federation, 'claims'> & { claims: Record<string, string> }) | null;
}

const CREDENTIALS_SELECT = `select k.client_id, k.account_id, k.environment_id, k.enabled, k.expires_at,
            (select coalesce(json_agg(json_build_object('resource_server_id', g.resource_server_id, 'scopes', g.scopes)), '[]'::json)
               from keypair_grants g where g.client_id = k.client_id) as grants,
            k.rate_limit_per_minute, k.allowed_ips, k.auto_disable,
            k.credential_type, k.public_keys, k.require_dpop,
            (select json_build_object('trustedIssuerId', t.id, 'issuer', t.issuer, 'jwksUri', t.jwks_uri, 'jwks', t.jwks,
                                      'audience', t.audience, 'subject', k.federation_subject, 'claims', k.federation_claims)
               from trusted_issuers t where t.id = k.federation_issuer_id) as federation,
            coalesce(json_agg(json_build_object('sha256', encode(s.secret_sha256, 'hex'), 'expires_at', s.expires_at, 'status_idx', s.status_idx))
                     filter (where s.id is not null), '[]') as secrets
       from keypairs k
       left join keypair_secrets s on s.client_id = k.client_id`;

/**
 * Values many keypairs hold alike (their account, environment, grants, an empty
 * allowlist), shared between their credentials rather than held once per keypair: the
 * token endpoint keeps every enabled keypair's credentials in memory (oauth/clients.ts),
 * and 100k copies of one grant map are memory and garbage-collection work for nothing.
 * Emptied when it grows past MAX_SHARED (values stop being shared, nothing breaks).
 */
const shared = new Map<string, unknown>();
const MAX_SHARED = 50_000;

function sharedValue<T>(key: string, make: () => T): T {
  let value = shared.get(key) as T | undefined;
  if (value === undefined) {
    if (shared.size >= MAX_SHARED) shared.clear();
    shared.set(key, (value = make()));
  }
  return value;
}

function toCredentials(row: CredentialsRow): KeypairCredentials {
  return {
    clientId: row.client_id,
    accountId: sharedValue(`a${row.account_id}`, () => row.account_id),
    environmentId: row.environment_id === null ? null : sharedValue(`e${row.environment_id}`, () => row.environment_id),
    grants: sharedValue(`g${JSON.stringify(row.grants)}`, () => new Map(row.grants.map((grant) => [grant.resource_server_id, grant.scopes]))),
    enabled: row.enabled,
    expiresAt: row.expires_at,
    rateLimitPerMinute: row.rate_limit_per_minute,
    allowedIps: sharedValue(`i${JSON.stringify(row.allowed_ips)}`, () => row.allowed_ips),
    autoDisable: row.auto_disable,
    secrets: row.secrets.map((secret) => ({
      sha256: Buffer.from(secret.sha256, 'hex'),
      expiresAt: secret.expires_at === null ? null : new Date(secret.expires_at),
      statusIdx: Number(secret.status_idx),
    })),
    credentialType: row.credential_type,
    // A key registered without a kid answers to its thumbprint, the kid `keygate client-key new` signs with.
    publicKeys: row.public_keys.map((key) => ({ ...key.jwk, kid: key.jwk.kid ?? key.thumbprint })),
    federation: row.federation,
    requireDpop: row.require_dpop,
  };
}

/** The credentials of each of `clientIds` that exists (misses read together; see oauth/clients.ts). */
export async function findCredentialsOf(db: Knex, clientIds: readonly string[]): Promise<KeypairCredentials[]> {
  const result = await db.raw<{ rows: CredentialsRow[] }>(`${CREDENTIALS_SELECT} where k.client_id = any(?) group by k.client_id`, [[...clientIds]]);
  return result.rows.map(toCredentials);
}

/** Enabled keypairs' credentials in client_id order, a page after `afterClientId` (the cache preload). */
export async function listEnabledCredentials(db: Knex, afterClientId: string, limit: number): Promise<KeypairCredentials[]> {
  const result = await db.raw<{ rows: CredentialsRow[] }>(
    `${CREDENTIALS_SELECT} where k.enabled and k.client_id > ? group by k.client_id order by k.client_id limit ?`,
    [afterClientId, limit],
  );
  return result.rows.map(toCredentials);
}

/** Rows per last-used UPDATE: PGlite runs one statement at a time, so no one statement may hold up the token path's reads long. */
const LAST_USED_CHUNK = 500;

/** A batch of last-used times in one UPDATE per 500 keypairs; never moves a time backwards. */
export async function writeLastUsed(db: Knex, entries: ReadonlyArray<readonly [string, Date]>): Promise<void> {
  for (let start = 0; start < entries.length; start += LAST_USED_CHUNK) {
    const chunk = entries.slice(start, start + LAST_USED_CHUNK);
    const values = chunk.map(() => '(?, ?::timestamptz)').join(', ');
    await db.raw(
      `update keypairs k set last_used_at = v.at
         from (values ${values}) as v(client_id, at)
        where k.client_id = v.client_id and (k.last_used_at is null or k.last_used_at < v.at)`,
      chunk.flatMap(([clientId, at]) => [clientId, at.toISOString()]),
    );
  }
}
