import { mkdir } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

export interface EmbeddedPostgres {
  /** A postgres:// URL on loopback that `pg` connects to like any server. */
  readonly url: string;
  stop(): Promise<void>;
}

/**
 * Real PostgreSQL (PGlite, compiled to WebAssembly) in this process, served on a
 * loopback port by pglite-socket so the app keeps one driver path (pg over the wire).
 * `dataDir` undefined keeps the data in memory (tests).
 */
export async function startEmbeddedPostgres(dataDir: string | undefined, maxConnections = 16): Promise<EmbeddedPostgres> {
  if (dataDir) await mkdir(dataDir, { recursive: true });
  const db = await PGlite.create(dataDir);
  // PGlite runs one query at a time whatever the connection count; pglite-socket
  // queues them, so several pooled connections only save connection set-up.
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections });
  await server.start();
  const [host, port] = server.getServerConn().split(':');
  return {
    url: `postgres://postgres@${host}:${port}/postgres`,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}
