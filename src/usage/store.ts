import type { Knex } from 'knex';

/** One token request of a known keypair, as the usage log keeps it. */
export interface UsageRecord {
  readonly at: Date;
  readonly clientId: string;
  readonly outcome: 'issued' | 'refused';
  /** The OAuth error returned; null when a token was issued. */
  readonly error: string | null;
  /** Why it was refused, finer than the error (secret_mismatch, ip_not_allowed, ...). */
  readonly reason: string | null;
  /** The request presented a live secret of the keypair; a retired one does not count. */
  readonly credentialed: boolean;
  readonly scope: string | null;
  readonly resource: string | null;
  readonly ip: string | null;
  readonly userAgent: string | null;
}

/** One row of the hourly rollup: counts of one key of one dimension, keypair and hour. */
export interface RollupCount {
  readonly clientId: string;
  readonly hour: Date;
  /** resource: every request counts once, so these rows also sum to the totals. */
  readonly dimension: 'resource' | 'reason' | 'scope';
  readonly key: string;
  issued: number;
  refused: number;
}

/**
 * Rows per statement: PGlite runs one statement at a time, so no one statement may
 * hold up the token path's reads long. Each statement binds one array per column (unnest),
 * not one parameter per value: far less to parse and bind for a thousand rows.
 */
const CHUNK = 2000;

/** Writes a batch of usage records and adds its rollups, in one transaction. */
export async function writeUsage(db: Knex, records: readonly UsageRecord[], rollups: readonly RollupCount[]): Promise<void> {
  await db.transaction(async (trx) => {
    for (let start = 0; start < records.length; start += CHUNK) {
      const chunk = records.slice(start, start + CHUNK);
      await trx.raw(
        `insert into usage_events (at, client_id, outcome, error, reason, credentialed, scope, resource, ip, user_agent)
         select * from unnest(?::timestamptz[], ?::text[], ?::text[], ?::text[], ?::text[], ?::boolean[], ?::text[], ?::text[], ?::text[], ?::text[])`,
        [
          chunk.map((record) => record.at.toISOString()),
          chunk.map((record) => record.clientId),
          chunk.map((record) => record.outcome),
          chunk.map((record) => record.error),
          chunk.map((record) => record.reason),
          chunk.map((record) => record.credentialed),
          chunk.map((record) => record.scope),
          chunk.map((record) => record.resource),
          chunk.map((record) => record.ip),
          chunk.map((record) => record.userAgent),
          // pg sends each JS array as one PostgreSQL array; knex's types do not list nullable arrays.
        ] as unknown as Knex.Value[],
      );
    }
    for (let start = 0; start < rollups.length; start += CHUNK) {
      const chunk = rollups.slice(start, start + CHUNK);
      await trx.raw(
        `insert into usage_hourly (client_id, hour, dimension, key, issued, refused)
         select * from unnest(?::text[], ?::timestamptz[], ?::text[], ?::text[], ?::bigint[], ?::bigint[])
         on conflict (client_id, hour, dimension, key)
         do update set issued = usage_hourly.issued + excluded.issued, refused = usage_hourly.refused + excluded.refused`,
        [
          chunk.map((rollup) => rollup.clientId),
          chunk.map((rollup) => rollup.hour.toISOString()),
          chunk.map((rollup) => rollup.dimension),
          chunk.map((rollup) => rollup.key),
          chunk.map((rollup) => rollup.issued),
          chunk.map((rollup) => rollup.refused),
        ] as unknown as Knex.Value[],
      );
    }
  });
}

/** What auto-disable weighs for one keypair over a window. */
export interface FailureCounts {
  /** Refusals of requests that presented a live secret of the keypair (rate limiting aside). */
  readonly credentialedFailures: number;
  /** Those plus tokens issued: the requests of whoever holds a secret. */
  readonly credentialedRequests: number;
}

export async function failureCounts(db: Knex, clientId: string, since: Date): Promise<FailureCounts> {
  const result = await db.raw<{ rows: Array<{ failures: string; requests: string }> }>(
    `select count(*) filter (where outcome = 'refused') as failures, count(*) as requests
       from usage_events
      where client_id = ? and at > ? and credentialed and coalesce(reason, '') not in ('rate_limited', 'secret_retired')`,
    [clientId, since],
  );
  const row = result.rows[0]!;
  return { credentialedFailures: Number(row.failures), credentialedRequests: Number(row.requests) };
}

export interface UsageWindowCounts {
  readonly key: string;
  readonly issued24h: number;
  readonly refused24h: number;
  readonly issued7d: number;
  readonly refused7d: number;
}

/** Sums of one dimension's rollups since `since7d`, with the part since `since24h`, most requests first. */
export async function rollupTotals(db: Knex, clientId: string, dimension: RollupCount['dimension'], since24h: Date, since7d: Date, limit: number): Promise<UsageWindowCounts[]> {
  const result = await db.raw<{ rows: Array<{ key: string; issued24h: string; refused24h: string; issued7d: string; refused7d: string }> }>(
    `select key,
            coalesce(sum(issued) filter (where hour >= ?), 0) as issued24h,
            coalesce(sum(refused) filter (where hour >= ?), 0) as refused24h,
            sum(issued) as issued7d,
            sum(refused) as refused7d
       from usage_hourly
      where client_id = ? and dimension = ? and hour >= ?
      group by key
      order by sum(issued) + sum(refused) desc, key
      limit ?`,
    [since24h, since24h, clientId, dimension, since7d, limit],
  );
  return result.rows.map((row) => ({ key: row.key, issued24h: Number(row.issued24h), refused24h: Number(row.refused24h), issued7d: Number(row.issued7d), refused7d: Number(row.refused7d) }));
}

/** All requests since `since7d`, with the part since `since24h`: the resource rows summed. */
export async function totals(db: Knex, clientId: string, since24h: Date, since7d: Date): Promise<Omit<UsageWindowCounts, 'key'>> {
  const result = await db.raw<{ rows: Array<{ issued24h: string; refused24h: string; issued7d: string; refused7d: string }> }>(
    `select coalesce(sum(issued) filter (where hour >= ?), 0) as issued24h,
            coalesce(sum(refused) filter (where hour >= ?), 0) as refused24h,
            coalesce(sum(issued), 0) as issued7d,
            coalesce(sum(refused), 0) as refused7d
       from usage_hourly
      where client_id = ? and dimension = 'resource' and hour >= ?`,
    [since24h, since24h, clientId, since7d],
  );
  const row = result.rows[0]!;
  return { issued24h: Number(row.issued24h), refused24h: Number(row.refused24h), issued7d: Number(row.issued7d), refused7d: Number(row.refused7d) };
}

export async function hourlyTotals(db: Knex, clientId: string, since: Date): Promise<Array<{ hour: Date; issued: number; refused: number }>> {
  const rows = await db('usage_hourly')
    .where({ client_id: clientId, dimension: 'resource' })
    .where('hour', '>=', since)
    .groupBy('hour')
    .orderBy('hour')
    .select<Array<{ hour: Date; issued: string; refused: string }>>('hour', db.raw('sum(issued) as issued'), db.raw('sum(refused) as refused'));
  return rows.map((row) => ({ hour: row.hour, issued: Number(row.issued), refused: Number(row.refused) }));
}

export async function recentUsage(db: Knex, clientId: string, limit: number): Promise<UsageRecord[]> {
  const rows = await db('usage_events').where({ client_id: clientId }).orderBy('at', 'desc').limit(limit).select<UsageRow[]>('*');
  return rows.map((row) => ({
    at: row.at,
    clientId: row.client_id,
    outcome: row.outcome,
    error: row.error,
    reason: row.reason,
    credentialed: row.credentialed,
    scope: row.scope,
    resource: row.resource,
    ip: row.ip,
    userAgent: row.user_agent,
  }));
}

interface UsageRow {
  at: Date;
  client_id: string;
  outcome: 'issued' | 'refused';
  error: string | null;
  reason: string | null;
  credentialed: boolean;
  scope: string | null;
  resource: string | null;
  ip: string | null;
  user_agent: string | null;
}

/** Rows per DELETE of the retention cleanup, so that no statement holds the database long. */
const DELETE_CHUNK = 5000;

/** Deletes usage records and rollups older than `before`, a chunk at a time; returns how many records went. */
export async function deleteUsageBefore(db: Knex, before: Date): Promise<number> {
  let deleted = 0;
  for (;;) {
    const result = await db.raw<{ rowCount: number }>(
      'delete from usage_events where ctid = any(array(select ctid from usage_events where at < ? limit ?))',
      [before, DELETE_CHUNK],
    );
    deleted += result.rowCount;
    if (result.rowCount < DELETE_CHUNK) break;
  }
  for (;;) {
    const result = await db.raw<{ rowCount: number }>(
      'delete from usage_hourly where ctid = any(array(select ctid from usage_hourly where hour < ? limit ?))',
      [before, DELETE_CHUNK],
    );
    if (result.rowCount < DELETE_CHUNK) break;
  }
  return deleted;
}
