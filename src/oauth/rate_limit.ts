import type { Knex } from 'knex';
import type { Logger } from '../shared/log.js';

const WINDOW_MS = 60_000;

/** How often a process adds its counts to the shared ones and reads theirs back: 1000 (ms). */
export const RATE_LIMIT_SYNC_MS = 1000;

/** What this process knows of one keypair's last two windows. */
interface KeypairWindows {
  /** Start of the current window (ms since the epoch, a multiple of a minute). */
  start: number;
  /** Requests admitted in the current window by every process, as last known plus this process's since. */
  current: number;
  /** The same for the window before. */
  previous: number;
}

export type RateDecision = { readonly allowed: true } | { readonly allowed: false; readonly retryAfterSeconds: number };

/**
 * Per-keypair requests per minute, as a sliding window: the count of the current
 * minute plus the previous minute's weighted by how much of it still overlaps the
 * last 60 seconds (the estimate Cloudflare and others use). Only admitted requests
 * count, so a client that backs off as Retry-After says gets through.
 *
 * Deciding never waits for the database. With a shared database (several processes)
 * each process adds what it admitted to `rate_limit_windows` once a second and reads
 * the total back, so a process learns of the others' requests at most one second
 * late: across processes the limit can be passed by what the others admit in that
 * second, and no more.
 */
export class RateLimiter {
  #windows = new Map<string, KeypairWindows>();
  /** Admissions not yet added to the shared counts, by keypair and window start. */
  #unsynced = new Map<string, Map<number, number>>();
  #timer: NodeJS.Timeout | undefined;
  #syncing: Promise<void> = Promise.resolve();
  #syncs = 0;

  constructor(
    private readonly db: Knex,
    private readonly log: Logger,
  ) {}

  /** Admits (and counts) one request of `clientId`, or says how long to wait. */
  take(clientId: string, limitPerMinute: number, nowMs: number): RateDecision {
    const windows = this.#windowsOf(clientId, nowMs);
    if (estimate(windows, nowMs) + 1 > limitPerMinute) {
      return { allowed: false, retryAfterSeconds: retryAfter(windows, limitPerMinute, nowMs) };
    }
    windows.current += 1;
    let pending = this.#unsynced.get(clientId);
    if (!pending) this.#unsynced.set(clientId, (pending = new Map()));
    pending.set(windows.start, (pending.get(windows.start) ?? 0) + 1);
    return { allowed: true };
  }

  /** Shares counts with other processes every second (only with a shared database). */
  start(): void {
    this.#timer = setInterval(() => void this.sync(Date.now()), RATE_LIMIT_SYNC_MS);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#syncing;
  }

  /** Adds this process's admissions to the shared counts and takes the totals back. */
  sync(nowMs: number): Promise<void> {
    this.#syncing = this.#syncing.then(async () => {
      if (this.#unsynced.size === 0) return;
      const batch = this.#unsynced;
      this.#unsynced = new Map();
      const rows = [...batch].flatMap(([clientId, byWindow]) => [...byWindow].map(([start, count]) => ({ client_id: clientId, window_start: new Date(start), count })));
      try {
        const totals = await this.db('rate_limit_windows')
          .insert(rows)
          .onConflict(['client_id', 'window_start'])
          .merge({ count: this.db.raw('rate_limit_windows.count + excluded.count') })
          .returning(['client_id', 'window_start', 'count']);
        for (const total of totals as Array<{ client_id: string; window_start: Date; count: string | number }>) {
          this.#learn(total.client_id, total.window_start.getTime(), Number(total.count));
        }
        this.#syncs += 1;
        if (this.#syncs % 60 === 0) await this.db('rate_limit_windows').where('window_start', '<', new Date(nowMs - 5 * WINDOW_MS)).delete();
      } catch (error) {
        for (const [clientId, byWindow] of batch) {
          for (const [start, count] of byWindow) {
            let pending = this.#unsynced.get(clientId);
            if (!pending) this.#unsynced.set(clientId, (pending = new Map()));
            pending.set(start, (pending.get(start) ?? 0) + count);
          }
        }
        this.log.warn('could not share rate-limit counts; will retry', { error: (error as Error).message });
      }
    });
    return this.#syncing;
  }

  /** The shared total of a window, plus what this process admitted since it was sent. */
  #learn(clientId: string, start: number, total: number): void {
    const windows = this.#windows.get(clientId);
    if (!windows) return;
    const since = this.#unsynced.get(clientId)?.get(start) ?? 0;
    if (start === windows.start) windows.current = Math.max(windows.current, total + since);
    else if (start === windows.start - WINDOW_MS) windows.previous = Math.max(windows.previous, total + since);
  }

  #windowsOf(clientId: string, nowMs: number): KeypairWindows {
    const start = nowMs - (nowMs % WINDOW_MS);
    let windows = this.#windows.get(clientId);
    if (!windows) {
      windows = { start, current: 0, previous: 0 };
      this.#windows.set(clientId, windows);
    } else if (windows.start !== start) {
      windows.previous = start - windows.start === WINDOW_MS ? windows.current : 0;
      windows.current = 0;
      windows.start = start;
    }
    return windows;
  }
}

/** Requests in the 60 seconds before `nowMs`, as the sliding window estimates them. */
function estimate(windows: KeypairWindows, nowMs: number): number {
  const start = nowMs - (nowMs % WINDOW_MS);
  if (start === windows.start) return windows.previous * (1 - (nowMs - start) / WINDOW_MS) + windows.current;
  if (start - windows.start === WINDOW_MS) return windows.current * (1 - (nowMs - start) / WINDOW_MS);
  return 0;
}

/** Whole seconds until one more request fits, if nothing else is admitted meanwhile. */
function retryAfter(windows: KeypairWindows, limitPerMinute: number, nowMs: number): number {
  for (let seconds = 1; seconds < 2 * WINDOW_MS / 1000; seconds += 1) {
    if (estimate(windows, nowMs + seconds * 1000) + 1 <= limitPerMinute) return seconds;
  }
  return 2 * WINDOW_MS / 1000;
}
