import type { Knex } from 'knex';
import type { Clock } from '../shared/clock.js';

/**
 * JWT ids already accepted, in the database, so that a client assertion or a DPoP
 * proof is accepted once in every process, not once per process: an attacker who
 * captured one may send it to any of them. A row lives until the JWT it names expires;
 * past that the JWT is refused on its `exp` anyway, and the row is deleted.
 */
export class ReplayStore {
  #nextCleanupAt = 0;

  constructor(
    private readonly db: Knex,
    private readonly clock: Clock,
    private readonly options: { cleanupIntervalMs?: number } = {},
  ) {}

  /**
   * Records `jti` of `issuer` as used until `expiresAt`; false when it was already used
   * and has not expired (a replay). One statement: two processes racing on one jti
   * cannot both win it.
   */
  async firstUse(issuer: string, jti: string, expiresAt: Date): Promise<boolean> {
    const now = this.clock.now();
    const result = await this.db.raw<{ rows: unknown[] }>(
      `insert into used_jtis (issuer, jti, expires_at) values (?, ?, ?)
       on conflict (issuer, jti) do update set expires_at = excluded.expires_at
        where used_jtis.expires_at <= ?
       returning 1`,
      [issuer, jti, expiresAt, now],
    );
    this.#cleanUpNowAndThen(now);
    return result.rows.length === 1;
  }

  /** Deletes the rows of expired JWTs; returns how many. */
  deleteExpired(): Promise<number> {
    return this.db('used_jtis').where('expires_at', '<=', this.clock.now()).delete();
  }

  /** Every few minutes, off the request's path, the rows of expired JWTs go: the table stays as small as the JWTs alive. */
  #cleanUpNowAndThen(now: Date): void {
    if (now.getTime() < this.#nextCleanupAt) return;
    this.#nextCleanupAt = now.getTime() + (this.options.cleanupIntervalMs ?? 300_000);
    void this.deleteExpired().catch(() => undefined);
  }
}
