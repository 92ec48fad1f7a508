import type { Knex } from 'knex';
import type { Logger } from '../shared/log.js';
import { writeLastUsed } from './credentials_store.js';

/**
 * Collects the last time each keypair got a token and writes them in one UPDATE
 * every interval: the token path never waits for a write, and a busy keypair costs
 * one row update per interval however many tokens it takes.
 */
export class LastUsedRecorder {
  #pending = new Map<string, Date>();
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: Knex,
    private readonly log: Logger,
  ) {}

  record(clientId: string, at: Date): void {
    this.#pending.set(clientId, at);
  }

  get pendingCount(): number {
    return this.#pending.size;
  }

  start(intervalSeconds: number): void {
    this.#timer = setInterval(() => void this.flush(), intervalSeconds * 1000);
    this.#timer.unref();
  }

  /** Writes what is pending; a failed write puts the times back for the next try. */
  flush(): Promise<void> {
    this.#flushing = this.#flushing.then(async () => {
      if (this.#pending.size === 0) return;
      const batch = this.#pending;
      this.#pending = new Map();
      try {
        await writeLastUsed(this.db, [...batch]);
      } catch (error) {
        for (const [clientId, at] of batch) if (!this.#pending.has(clientId)) this.#pending.set(clientId, at);
        this.log.warn('could not write last-used times; will retry', { error: (error as Error).message, keypairs: batch.size });
      }
    });
    return this.#flushing;
  }

  /** Stops the timer and writes what is left (shutdown). */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.flush();
  }
}
