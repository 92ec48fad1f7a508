// @ts-check
/**
 * The embedded PostgreSQL's own thread: PGlite (WebAssembly) and the pglite-socket
 * server that serves it. Started by embedded.ts as a worker thread so that the
 * database's CPU (queries, usage batches, rollups, checkpoints) never blocks the
 * event loop that answers token requests; the server reaches it over the Unix socket
 * like any PostgreSQL.
 *
 * Messages to the parent: {type: 'ready'}, {type: 'failed', message}, {type: 'stopped'}.
 * From the parent: 'stop'. workerData: {dataDir (undefined: in memory), socketPath,
 * maxConnections}.
 *
 * Plain JavaScript: a worker thread is started from a file, and a .js file loads the
 * same way from the sources (tsx, vitest) and from dist/, where the build copies it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

const port = /** @type {import('node:worker_threads').MessagePort} */ (parentPort);
/** @type {{ dataDir: string | undefined, socketPath: string, maxConnections: number }} */
const { dataDir, socketPath, maxConnections } = workerData;
/** @param {{ type: 'ready' } | { type: 'failed', message: string } | { type: 'stopped' }} message */
const send = (message) => port.postMessage(message);

/**
 * PGlite's buffer cache. PostgreSQL's default (128MB) is held from the start, in the
 * process's own memory; behind it is the operating system's page cache, as for any
 * PostgreSQL. 32MB holds the token path's working set (credentials of 100k keypairs
 * are read once, at preload) and takes ~100 MiB off the server's RSS.
 */
const SHARED_BUFFERS = '32MB';

/** @type {PGlite | undefined} */
let db;
try {
  db = await PGlite.create(dataDir, { startParams: [...PGlite.defaultStartParams, '-c', `shared_buffers=${SHARED_BUFFERS}`] });
  // PGlite runs one query at a time whatever the connection count; pglite-socket
  // queues them, so several pooled connections only save connection set-up.
  const server = new PGLiteSocketServer({ db, path: socketPath, maxConnections });
  await server.start();
  const pglite = db;
  port.on('message', (message) => {
    if (message !== 'stop') return;
    void (async () => {
      await server.stop();
      await pglite.close();
      send({ type: 'stopped' });
      port.close();
    })();
  });
  send({ type: 'ready' });
} catch (error) {
  await db?.close().catch(() => undefined);
  send({ type: 'failed', message: /** @type {Error} */ (error).message });
  port.close();
}
