import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import type { Clock } from '../shared/clock.js';

/** Rows per INSERT: far under PostgreSQL's 65,535 bind parameters, however far writes fall behind. */
const MAX_BATCH_ROWS = 1000;

/**
 * JWT ids already accepted, in the database, so that a client assertion or a DPoP
 * proof is accepted once in every process, not once per process: an attacker who
 * captured one may send it to any of them. A row lives until the JWT it names expires;
 * past that the JWT is refused on its `exp` anyway, and the row is deleted.
 *
 * Every private_key_jwt or DPoP request writes one row, so the writes are grouped: one
 * INSERT is in flight at a time, and the ids that arrive meanwhile go in the next one
 * (as a database groups commits). Under load that is one statement per batch, not one
 * per request; a lone request is written at once.
 *
 * What is kept of a jti is its SHA-256: the client picks the jti, and one it made
 * unstorable (a NUL, a lone surrogate, kilobytes) must not fail the batch it shares
 * with other clients' requests.
 */
export class ReplayStore {
  #nextCleanupAt = 0;
  /** Ids to write in the next batch, keyed by issuer and jti, each with the request waiting for it. */
  #pending: Map<string, PendingUse> | undefined;
  #writing = false;

  constructor(
    private readonly db: Knex,
    private readonly clock: Clock,
    private readonly options: { cleanupIntervalMs?: number } = {},
  ) {}

  /**
   * Records `jti` of `issuer` as used until `expiresAt`; false when it was already used
   * and has not expired (a replay). The INSERT decides: two processes racing on one jti
   * cannot both win it.
   */
  firstUse(issuer: string, jti: string, expiresAt: Date): Promise<boolean> {
    const digest = createHash('sha256').update(jti).digest('base64url');
    const key = `${issuer}\n${digest}`;
    this.#pending ??= new Map();
    // The same id twice in one batch: the second is a replay of the first.
    if (this.#pending.has(key)) return Promise.resolve(false);
    const use = pendingUse(issuer, digest, expiresAt);
    this.#pending.set(key, use);
    if (!this.#writing) void this.#writeBatches();
    return use.promise;
  }

  /** Deletes the rows of expired JWTs; returns how many. */
  deleteExpired(): Promise<number> {
    return this.db('used_jtis').where('expires_at', '<=', this.clock.now()).delete();
  }

  async #writeBatches(): Promise<void> {
    this.#writing = true;
    while (this.#pending) {
      // In key order, as every process writes: two processes inserting {X, Y} and {Y, X}
      // would each wait for the other's row, and PostgreSQL would abort one batch.
      const batch = this.#takeBatch(this.#pending);
      try {
        const won = await this.#insert(batch);
        for (const use of batch) use.resolve(won.has(`${use.issuer}\n${use.jti}`));
      } catch (error) {
        for (const use of batch) use.reject(error);
      }
    }
    this.#writing = false;
    this.#cleanUpNowAndThen(this.clock.now());
  }

  /** Up to MAX_BATCH_ROWS of the pending ids, taken out of `pending`. */
  #takeBatch(pending: Map<string, PendingUse>): PendingUse[] {
    const keys = [...pending.keys()].sort().slice(0, MAX_BATCH_ROWS);
    const batch = keys.map((key) => pending.get(key)!);
    for (const key of keys) pending.delete(key);
    if (pending.size === 0) this.#pending = undefined;
    return batch;
  }

  /** Inserts the batch; returns the ids it won (new, or a row whose JWT had expired). */
  async #insert(batch: readonly PendingUse[]): Promise<Set<string>> {
    const now = this.clock.now();
    const values = batch.map(() => '(?, ?, ?::timestamptz)').join(', ');
    const result = await this.db.raw<{ rows: Array<{ issuer: string; jti: string }> }>(
      `insert into used_jtis (issuer, jti, expires_at) values ${values}
       on conflict (issuer, jti) do update set expires_at = excluded.expires_at
        where used_jtis.expires_at <= ?
       returning issuer, jti`,
      [...batch.flatMap((use) => [use.issuer, use.jti, use.expiresAt.toISOString()]), now],
    );
    return new Set(result.rows.map((row) => `${row.issuer}\n${row.jti}`));
  }

  /** Every few minutes, off the request's path, the rows of expired JWTs go: the table stays as small as the JWTs alive. */
  #cleanUpNowAndThen(now: Date): void {
    if (now.getTime() < this.#nextCleanupAt) return;
    this.#nextCleanupAt = now.getTime() + (this.options.cleanupIntervalMs ?? 300_000);
    void this.deleteExpired().catch(() => undefined);
  }
}

interface PendingUse {
  readonly issuer: string;
  /** The jti's SHA-256, base64url. */
  readonly jti: string;
  readonly expiresAt: Date;
  readonly promise: Promise<boolean>;
  resolve(won: boolean): void;
  reject(error: unknown): void;
}

/** Promise.withResolvers, which Node 20 lacks. */
function pendingUse(issuer: string, jti: string, expiresAt: Date): PendingUse {
  let resolve!: PendingUse['resolve'];
  let reject!: PendingUse['reject'];
  const promise = new Promise<boolean>((onResolve, onReject) => {
    resolve = onResolve;
    reject = onReject;
  });
  return { issuer, jti, expiresAt, promise, resolve, reject };
}
