import type { Knex } from 'knex';
import type { Logger } from '../shared/log.js';
import { writeUsage, type RollupCount, type UsageRecord } from './store.js';

/** Records held in memory at most: past it, new records still count in the rollups but their rows are dropped. */
const MAX_BUFFERED = 100_000;
/**
 * Refusals of requests that presented no live secret of the keypair (a wrong or a
 * retired secret, a disabled or expired keypair) that the log keeps per keypair and
 * minute, in each process: 10. Anyone who knows a client_id can send those, so past
 * this they count in the hourly rollups (totals, refusals by reason) and leave no row:
 * they cannot push the holder's own requests out of the last 20, nor fill the log.
 */
export const UNCREDENTIALED_LOG_PER_MINUTE = 10;
const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;

/** Turns a requested resource or scope into a rollup key: names the catalogue does not know are all "other". */
export interface RollupKeys {
  /** "none" for a request that named no resource and found no default. */
  resourceKey(resource: string | null): string;
  scopeKeys(scope: string | null): string[];
}

/** Rollup keys from the resource-server catalogue: resources and scopes outside it count as "other", so clients cannot grow the rollups. */
export function catalogRollupKeys(catalog: { byIdentifier(identifier: string): unknown; definesScope(scope: string): boolean }): RollupKeys {
  return {
    resourceKey: (resource) => (resource === null ? 'none' : catalog.byIdentifier(resource) ? resource : 'other'),
    scopeKeys: (scope) => (scope === null ? [] : [...new Set(scope.split(' ').filter(Boolean).map((name) => (catalog.definesScope(name) ? name : 'other')))]),
  };
}

/**
 * The usage log's write side: token requests are buffered in memory and written in
 * one transaction per interval, records and hourly rollups together, so the token
 * path never waits for a write and a crash (kill -9) loses at most one interval of
 * either. The rollups are summed in memory first: a busy keypair costs one upsert per
 * dimension and hour per flush, however many requests.
 */
export class UsageRecorder {
  #records: UsageRecord[] = [];
  #rollups = new Map<string, RollupCount>();
  #dropped = 0;
  /** The minute (ms since the epoch) the counts below are for. */
  #uncredentialedMinute = 0;
  /** Uncredentialed refusals logged this minute, by keypair. */
  #uncredentialedLogged = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> = Promise.resolve();
  readonly #listeners: Array<(records: readonly UsageRecord[]) => Promise<void>> = [];

  constructor(
    private readonly db: Knex,
    private readonly keys: RollupKeys,
    private readonly log: Logger,
  ) {}

  record(record: UsageRecord): void {
    // Past UNCREDENTIALED_LOG_PER_MINUTE, a refusal counts in the rollups below only.
    if (this.#logs(record)) {
      if (this.#records.length < MAX_BUFFERED) this.#records.push(record);
      else this.#dropped += 1;
    }
    const hour = new Date(record.at.getTime() - (record.at.getTime() % HOUR_MS));
    // Every request counts once under its resource: those rows are the totals too.
    this.#count(record, hour, 'resource', this.keys.resourceKey(record.resource));
    if (record.reason !== null) this.#count(record, hour, 'reason', record.reason);
    for (const scope of this.keys.scopeKeys(record.scope)) this.#count(record, hour, 'scope', scope);
  }

  /** Called with every batch once it is written (auto-disable reads the log then). */
  onFlushed(listener: (records: readonly UsageRecord[]) => Promise<void>): void {
    this.#listeners.push(listener);
  }

  get pendingCount(): number {
    return this.#records.length;
  }

  start(intervalSeconds: number): void {
    this.#timer = setInterval(() => void this.flush(), intervalSeconds * 1000);
    this.#timer.unref();
  }

  /** Writes the buffered records and rollups in one transaction; a failed write keeps them for the next try. */
  flush(): Promise<void> {
    this.#flushing = this.#flushing.then(async () => {
      if (this.#records.length === 0 && this.#rollups.size === 0) return;
      const records = this.#records;
      const rollups = this.#rollups;
      this.#records = [];
      this.#rollups = new Map();
      try {
        await writeUsage(this.db, records, [...rollups.values()]);
      } catch (error) {
        this.#records = [...records, ...this.#records].slice(0, MAX_BUFFERED);
        for (const [key, rollup] of rollups) this.#add(key, rollup, rollup.issued, rollup.refused);
        this.log.warn('could not write usage records; will retry', { error: (error as Error).message, records: records.length });
        return;
      }
      this.log.debug('usage written', { records: records.length, rollups: rollups.size });
      if (this.#dropped > 0) {
        this.log.warn('usage records dropped: the buffer was full (they still count in the hourly totals)', { dropped: this.#dropped });
        this.#dropped = 0;
      }
      for (const listener of this.#listeners) {
        await listener(records).catch((error: Error) => this.log.error('usage listener failed', { error: error.message }));
      }
    });
    return this.#flushing;
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.flush();
  }

  /** false for an uncredentialed refusal past its keypair's UNCREDENTIALED_LOG_PER_MINUTE. */
  #logs(record: UsageRecord): boolean {
    if (record.outcome !== 'refused' || record.credentialed) return true;
    const minute = record.at.getTime() - (record.at.getTime() % MINUTE_MS);
    if (minute !== this.#uncredentialedMinute) {
      this.#uncredentialedMinute = minute;
      this.#uncredentialedLogged = new Map();
    }
    const logged = this.#uncredentialedLogged.get(record.clientId) ?? 0;
    if (logged >= UNCREDENTIALED_LOG_PER_MINUTE) return false;
    this.#uncredentialedLogged.set(record.clientId, logged + 1);
    return true;
  }

  #count(record: UsageRecord, hour: Date, dimension: RollupCount['dimension'], key: string): void {
    const id = `${record.clientId}\u0000${hour.getTime()}\u0000${dimension}\u0000${key}`;
    const issued = record.outcome === 'issued' ? 1 : 0;
    this.#add(id, { clientId: record.clientId, hour, dimension, key, issued: 0, refused: 0 }, issued, 1 - issued);
  }

  #add(id: string, template: RollupCount, issued: number, refused: number): void {
    let rollup = this.#rollups.get(id);
    if (!rollup) this.#rollups.set(id, (rollup = { ...template, issued: 0, refused: 0 }));
    rollup.issued += issued;
    rollup.refused += refused;
  }
}
