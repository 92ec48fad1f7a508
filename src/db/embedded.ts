import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
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
  const releaseLock = dataDir ? await lockDataDir(dataDir) : async () => undefined;
  let db: PGlite;
  try {
    db = await PGlite.create(dataDir);
  } catch (error) {
    await releaseLock();
    throw error;
  }
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
      await releaseLock();
    },
  };
}

/**
 * PGlite takes no lock of its own: two processes opening one data directory would
 * both write it (a `keygate cleanup` or `migrate` beside a running `keygate serve`).
 * A pid file refuses the second while the first lives; a file left by a dead process
 * is taken over.
 */
async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const lockFile = path.join(dataDir, 'keygate.pid');
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      await writeFile(lockFile, String(process.pid), { flag: 'wx' });
      return () => rm(lockFile, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number(await readFile(lockFile, 'utf8').catch(() => ''));
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder)) {
        throw new Error(`it is in use by process ${holder} (a running keygate); stop that first, or use DATABASE_URL to share a PostgreSQL server`);
      }
      await rm(lockFile, { force: true });
    }
  }
  throw new Error(`could not take ${lockFile}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
