import { EventEmitter } from 'node:events';
import pg from 'pg';
import type { Logger } from '../shared/log.js';

/** Payload sent when every cached entry must go (a listener reconnected and may have missed some). */
export const ALL = '*';

/**
 * Tells every Keygate process that a keypair changed, so caches drop it.
 * publish() delivers to this process synchronously, then to the others.
 */
export interface ChangeFeed {
  publish(clientIds: readonly string[]): Promise<void>;
  subscribe(listener: (clientId: string) => void): void;
  close(): Promise<void>;
}

const CHANNEL = 'keygate_keypair_changed';

/** One process on the embedded database: an in-process event is enough. */
export function localChangeFeed(): ChangeFeed {
  const events = new EventEmitter();
  events.setMaxListeners(0);
  return {
    async publish(clientIds) {
      for (const id of clientIds) events.emit('change', id);
    },
    subscribe(listener) {
      events.on('change', listener);
    },
    async close() {
      events.removeAllListeners();
    },
  };
}

/**
 * Many processes on PostgreSQL: NOTIFY on publish, LISTEN on a dedicated connection.
 * After a lost connection the listener reconnects and reports ALL, because
 * notifications sent while it was away are gone.
 */
export async function postgresChangeFeed(url: string, publishWith: (sql: string, bindings: string[]) => Promise<unknown>, log: Logger): Promise<ChangeFeed> {
  const local = localChangeFeed();
  let client: pg.Client | undefined;
  let closed = false;
  let retryTimer: NodeJS.Timeout | undefined;

  const connect = async (): Promise<void> => {
    const next = new pg.Client({ connectionString: url });
    next.on('notification', (message) => {
      if (message.channel === CHANNEL && message.payload) {
        for (const id of message.payload.split(',')) void local.publish([id]);
      }
    });
    next.on('error', (error) => {
      log.warn('change feed connection lost; reconnecting', { error: error.message });
      void next.end().catch(() => undefined);
      scheduleReconnect();
    });
    await next.connect();
    await next.query(`LISTEN ${CHANNEL}`);
    client = next;
  };

  const scheduleReconnect = (): void => {
    if (closed || retryTimer) return;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      connect()
        .then(() => local.publish([ALL]))
        .catch((error: Error) => {
          log.warn('change feed reconnect failed', { error: error.message });
          scheduleReconnect();
        });
    }, 1000);
    retryTimer.unref();
  };

  await connect();

  return {
    async publish(clientIds) {
      if (clientIds.length === 0) return;
      await local.publish(clientIds);
      // NOTIFY payloads are limited to 8000 bytes; ids are 25 bytes, so chunk by 200.
      for (let i = 0; i < clientIds.length; i += 200) {
        await publishWith('select pg_notify(?, ?)', [CHANNEL, clientIds.slice(i, i + 200).join(',')]);
      }
    },
    subscribe: local.subscribe,
    async close() {
      closed = true;
      clearTimeout(retryTimer);
      await local.close();
      await client?.end().catch(() => undefined);
    },
  };
}
