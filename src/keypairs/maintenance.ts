import type { Knex } from 'knex';
import { deleteSettledBefore } from '../notifications/store.js';
import type { Clock } from '../shared/clock.js';
import type { Logger } from '../shared/log.js';
import type { KeypairService } from './service.js';
import { deleteSecretsRetiredBefore } from './store.js';

export interface CleanupReport {
  readonly expiredKeypairs: number;
  readonly retiredSecrets: number;
  readonly usageRecords: number;
  readonly notifications: number;
}

export interface MaintenanceDeps {
  readonly db: Knex;
  readonly keypairs: KeypairService;
  readonly clock: Clock;
  readonly log: Logger;
  readonly expiredRetentionDays: number;
  readonly usageRetentionDays: number;
  readonly expiryWarningDays: number;
  /**
   * Deletes usage records older than `before`, returning how many (the usage module's
   * deleteUsageBefore): given, not imported, as usage builds on keypairs.
   */
  readonly deleteUsageBefore: (before: Date) => Promise<number>;
}

const DAY_MS = 86_400_000;

/**
 * Deletes what has been kept long enough: keypairs expired more than
 * EXPIRED_RETENTION_DAYS ago (each audited, with its admins told), retired secret
 * digests as old, usage older than USAGE_RETENTION_DAYS, settled notifications.
 * Safe to run from several processes at once: each step is idempotent.
 */
export async function runCleanup(deps: MaintenanceDeps): Promise<CleanupReport> {
  const now = deps.clock.now().getTime();
  const expiredKeypairs = await deps.keypairs.deleteExpired(deps.expiredRetentionDays);
  const retiredSecrets = await deleteSecretsRetiredBefore(deps.db, new Date(now - deps.expiredRetentionDays * DAY_MS));
  const usageRecords = await deps.deleteUsageBefore(new Date(now - deps.usageRetentionDays * DAY_MS));
  const notifications = await deleteSettledBefore(deps.db, new Date(now - deps.usageRetentionDays * DAY_MS));
  return { expiredKeypairs, retiredSecrets, usageRecords, notifications };
}

/** How often the background job wakes: hourly expiry warnings, and a cleanup once a day. */
const HOUR_MS = 3_600_000;

/** The background maintenance job of a serving process. */
export class MaintenanceJob {
  #timer: NodeJS.Timeout | undefined;
  #lastCleanup = 0;
  #running: Promise<void> = Promise.resolve();

  constructor(private readonly deps: MaintenanceDeps) {}

  /** First run a minute after start (not during it), then every hour. */
  start(): void {
    const firstRun = setTimeout(() => {
      void this.run();
      this.#timer = setInterval(() => void this.run(), HOUR_MS);
      this.#timer.unref();
    }, 60_000);
    firstRun.unref();
    this.#timer = firstRun;
  }

  async stop(): Promise<void> {
    clearTimeout(this.#timer);
    clearInterval(this.#timer);
    await this.#running;
  }

  run(): Promise<void> {
    this.#running = this.#running.then(async () => {
      try {
        const warned = await this.deps.keypairs.warnExpiring(this.deps.expiryWarningDays);
        if (warned > 0) this.deps.log.info('expiry warnings queued', { keypairs: warned });
        const now = this.deps.clock.now().getTime();
        if (now - this.#lastCleanup >= DAY_MS) {
          this.#lastCleanup = now;
          const report = await runCleanup(this.deps);
          this.deps.log.info('daily cleanup', { ...report });
        }
      } catch (error) {
        this.deps.log.error('maintenance failed', { error: (error as Error).message });
      }
    });
    return this.#running;
  }
}
