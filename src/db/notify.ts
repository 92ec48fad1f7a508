import { EventEmitter } from 'node:events';
import type { Knex } from 'knex';
import pg from 'pg';
import type { Logger } from '../shared/log.js';

/** Payload sent when every cached entry must go (a listener reconnected and may have missed some). */
export const ALL = '*';

/** 'up': every change made anywhere reaches this process. 'down': some may be missed right now. */
export type FeedState = 'up' | 'down';

/**
 * Tells every Keygate process that a keypair (or a resource server) changed, so
 * caches drop it.
 */
export interface ChangeFeed {
  /**
   * Announces a change made in `trx`. The NOTIFY is sent inside the transaction, so
   * other processes hear of it exactly when it commits, and a failure to send it
   * rolls the change back. This process's subscribers hear of it once it has
   * committed, before the transaction's promise resolves.
   */
  publish(trx: Knex.Transaction, clientIds: readonly string[]): Promise<void>;
  subscribe(listener: (clientId: string) => void): void;
  /** Always 'up' for one process; 'down' while the LISTEN connection is lost. */
  readonly state: FeedState;
  /** Called with the new state each time it changes. */
  onStateChange(listener: (state: FeedState) => void): void;
  close(): Promise<void>;
}

const CHANNEL = 'keygate_keypair_changed';

/** Reconnect delays after a lost LISTEN connection: at once, then 250 ms doubling up to this cap. */
export const RECONNECT_FIRST_DELAY_MS = 250;
export const RECONNECT_MAX_DELAY_MS = 5000;

/** The LISTEN connection's application_name, so operators (and tests) find it in pg_stat_activity. */
export function feedApplicationName(pid = process.pid): string {
  return `keygate change feed ${pid}`;
}

function afterCommit(trx: Knex.Transaction, deliver: () => void): void {
  // executionPromise settles at COMMIT (or ROLLBACK), before the transaction's own
  // promise resolves for the caller.
  trx.executionPromise.then(deliver, () => undefined);
}

/** One process on the embedded database: an in-process event after commit is enough. */
export function localChangeFeed(): ChangeFeed {
  const events = new EventEmitter();
  events.setMaxListeners(0);
  return {
    async publish(trx, clientIds) {
      afterCommit(trx, () => {
        for (const id of clientIds) events.emit('change', id);
      });
    },
    subscribe(listener) {
      events.on('change', listener);
    },
    state: 'up',
    onStateChange() {
      // One process misses nothing: the state never changes.
    },
    async close() {
      events.removeAllListeners();
    },
  };
}

/**
 * Many processes on PostgreSQL: NOTIFY inside the change's transaction, LISTEN on a
 * dedicated connection. The moment that connection is lost the feed is 'down'; it
 * reconnects at once, then with backoff, and once listening again reports ALL
 * (notifications sent while it was away are gone) before it is 'up' again.
 */
export async function postgresChangeFeed(url: string, log: Logger, options: { connectTimeoutMs?: number } = {}): Promise<ChangeFeed> {
  const events = new EventEmitter();
  events.setMaxListeners(0);
  const emitLocal = (ids: readonly string[]) => {
    for (const id of ids) events.emit('change', id);
  };
  let state: FeedState = 'down';
  const setState = (next: FeedState) => {
    if (state === next) return;
    state = next;
    events.emit('state', next);
  };
  let client: pg.Client | undefined;
  let closed = false;
  let retryTimer: NodeJS.Timeout | undefined;
  let failures = 0;

  const lost = (connection: pg.Client, reason: string) => {
    if (client !== connection) return;
    client = undefined;
    setState('down');
    log.warn('change feed connection lost; caches are bypassed until it is back', { error: reason });
    void connection.end().catch(() => undefined);
    scheduleReconnect();
  };

  const connect = async (): Promise<void> => {
    const next = new pg.Client({
      connectionString: url,
      application_name: feedApplicationName(),
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      ...(options.connectTimeoutMs && { connectionTimeoutMillis: options.connectTimeoutMs }),
    });
    next.on('notification', (message) => {
      if (message.channel === CHANNEL && message.payload) emitLocal(message.payload.split(','));
    });
    next.on('error', (error) => lost(next, error.message));
    next.on('end', () => lost(next, 'connection ended'));
    try {
      await next.connect();
      await next.query(`LISTEN ${CHANNEL}`);
    } catch (error) {
      void next.end().catch(() => undefined);
      throw error;
    }
    client = next;
  };

  const scheduleReconnect = (): void => {
    if (closed || retryTimer) return;
    const delay = failures === 0 ? 0 : Math.min(RECONNECT_MAX_DELAY_MS, RECONNECT_FIRST_DELAY_MS * 2 ** (failures - 1));
    retryTimer = setTimeout(() => {
      connect()
        .then(() => {
          retryTimer = undefined;
          if (closed) return void client?.end().catch(() => undefined);
          failures = 0;
          // Caches drop everything before the feed counts as up again.
          emitLocal([ALL]);
          setState('up');
          log.info('change feed reconnected');
        })
        .catch((error: Error) => {
          retryTimer = undefined;
          failures += 1;
          log.warn('change feed reconnect failed', { error: error.message, retryInMs: Math.min(RECONNECT_MAX_DELAY_MS, RECONNECT_FIRST_DELAY_MS * 2 ** (failures - 1)) });
          scheduleReconnect();
        });
    }, delay);
    retryTimer.unref();
  };

  await connect();
  state = 'up';

  return {
    async publish(trx, clientIds) {
      if (clientIds.length === 0) return;
      // NOTIFY payloads are limited to 8000 bytes; ids are 25 bytes, so chunk by 200.
      for (let i = 0; i < clientIds.length; i += 200) {
        await trx.raw('select pg_notify(?, ?)', [CHANNEL, clientIds.slice(i, i + 200).join(',')]);
      }
      afterCommit(trx, () => emitLocal(clientIds));
    },
    subscribe(listener) {
      events.on('change', listener);
    },
    get state() {
      return state;
    },
    onStateChange(listener) {
      events.on('state', listener);
    },
    async close() {
      closed = true;
      clearTimeout(retryTimer);
      events.removeAllListeners();
      const open = client;
      client = undefined;
      await open?.end().catch(() => undefined);
    },
  };
}
