import { chmod, lstat, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

export interface EmbeddedPostgres {
  /** A postgres:// URL naming a Unix socket (`?host=<dir>`) that `pg` connects to like any server. */
  readonly url: string;
  stop(): Promise<void>;
}

/**
 * The "port" only names the socket file (`.s.PGSQL.<port>`, the name libpq and `pg`
 * look for in `host=<dir>`): nothing listens on TCP.
 */
const SOCKET_PORT = 5432;
const SOCKET_NAME = `.s.PGSQL.${SOCKET_PORT}`;
/** sun_path holds 108 bytes with its NUL; a longer socket path cannot be bound. */
const MAX_SOCKET_PATH = 107;

/**
 * Real PostgreSQL (PGlite, compiled to WebAssembly) in this process, served by
 * pglite-socket so the app keeps one driver path (pg over the wire). pglite-socket
 * has no authentication, so it listens only on a Unix socket in a 0700 directory:
 * no other local user can reach it (no TCP port at all). `dataDir` undefined keeps
 * the data in memory (tests).
 */
export async function startEmbeddedPostgres(dataDir: string | undefined, maxConnections = 16): Promise<EmbeddedPostgres> {
  if (dataDir) {
    dataDir = path.resolve(dataDir);
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    // First, before anything is read or written: an existing DATA_DIR (made by an
    // older Keygate, or by hand) is closed to other users from here on.
    await chmod(dataDir, 0o700);
  }
  const releaseLock = dataDir ? await lockDataDir(dataDir) : async () => undefined;
  let db: PGlite | undefined;
  let socketDir: string | undefined;
  try {
    db = await PGlite.create(dataDir);
    // PGlite writes its files 0666 whatever the umask (initdb's, and some later ones):
    // only an explicit chmod makes them the owner's alone.
    if (dataDir) await restrictModes(dataDir);
    socketDir = await makeSocketDir(dataDir);
    // PGlite runs one query at a time whatever the connection count; pglite-socket
    // queues them, so several pooled connections only save connection set-up.
    const server = new PGLiteSocketServer({ db, path: path.join(socketDir, SOCKET_NAME), maxConnections });
    await server.start();
    const dir = socketDir;
    const pglite = db;
    return {
      url: `postgres:///postgres?${new URLSearchParams({ host: dir, port: String(SOCKET_PORT), user: 'postgres' })}`,
      async stop() {
        await server.stop();
        await rm(dir, { recursive: true, force: true });
        await pglite.close();
        if (dataDir) await restrictModes(dataDir);
        await releaseLock();
      },
    };
  } catch (error) {
    if (socketDir) await rm(socketDir, { recursive: true, force: true });
    await db?.close();
    await releaseLock();
    throw error;
  }
}

/**
 * The socket's directory, 0700: `DATA_DIR/socket` (a leftover from a killed process
 * is replaced; the lock says no live one uses it), or a fresh temporary directory
 * for an in-memory database or a DATA_DIR whose path is too long for a socket.
 */
async function makeSocketDir(dataDir: string | undefined): Promise<string> {
  if (dataDir) {
    const dir = path.join(dataDir, 'socket');
    if (Buffer.byteLength(path.join(dir, SOCKET_NAME)) <= MAX_SOCKET_PATH) {
      await rm(dir, { recursive: true, force: true });
      await mkdir(dir, { mode: 0o700 });
      await chmod(dir, 0o700);
      return dir;
    }
  }
  // mkdtemp makes the directory 0700.
  return mkdtemp(path.join(tmpdir(), 'keygate-db-'));
}

/** Directories 0700, files 0600, all the way down (symbolic links and sockets left as they are). */
async function restrictModes(dir: string): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const child = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      await setMode(child, 0o700);
      await restrictModes(child);
    } else if (entry.isFile()) {
      await setMode(child, 0o600);
    }
  }
}

async function setMode(file: string, mode: number): Promise<void> {
  try {
    if (((await lstat(file)).mode & 0o7777) !== mode) await chmod(file, mode);
  } catch (error) {
    // PGlite may remove a file (a temporary one) between readdir and chmod.
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
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
      await writeFile(lockFile, String(process.pid), { flag: 'wx', mode: 0o600 });
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
