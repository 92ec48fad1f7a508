import { chmod, lstat, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Logger } from '../shared/log.js';
import { isProcessAlive } from '../shared/process.js';

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
 * Real PostgreSQL (PGlite, compiled to WebAssembly) in this process, on a worker
 * thread of its own (embedded_worker.js) so that its CPU never stalls the request
 * thread, served by pglite-socket so the app keeps one driver path (pg over the
 * wire). pglite-socket has no authentication, so it listens only on a Unix socket
 * in a 0700 directory: no other local user can reach it (no TCP port at all). `dataDir` undefined keeps
 * the data in memory (tests).
 */
export async function startEmbeddedPostgres(dataDir: string | undefined, maxConnections = 16, log?: Logger): Promise<EmbeddedPostgres> {
  if (dataDir) {
    dataDir = path.resolve(dataDir);
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    // First, before anything is read or written: an existing DATA_DIR (made by an
    // older Keygate, or by hand) is closed to other users from here on.
    await chmod(dataDir, 0o700);
  }
  const releaseLock = dataDir ? await lockDataDir(dataDir) : async () => undefined;
  let database: PgliteThread | undefined;
  let socketDir: string | undefined;
  try {
    socketDir = await makeSocketDir(dataDir);
    database = await startPgliteThread({ dataDir, socketPath: path.join(socketDir, SOCKET_NAME), maxConnections }, log);
    // PGlite writes its files 0666 whatever the umask (initdb's, and some later ones):
    // only an explicit chmod makes them the owner's alone.
    if (dataDir) await restrictModes(dataDir);
    const dir = socketDir;
    const thread = database;
    return {
      url: `postgres:///postgres?${new URLSearchParams({ host: dir, port: String(SOCKET_PORT), user: 'postgres' })}`,
      async stop() {
        await thread.stop();
        await rm(dir, { recursive: true, force: true });
        if (dataDir) await restrictModes(dataDir);
        await releaseLock();
      },
    };
  } catch (error) {
    await database?.stop();
    if (socketDir) await rm(socketDir, { recursive: true, force: true });
    await releaseLock();
    throw error;
  }
}

interface PgliteThread {
  stop(): Promise<void>;
}

/** What embedded_worker.js is started with. */
interface EmbeddedWorkerData {
  /** undefined: in memory. */
  readonly dataDir: string | undefined;
  readonly socketPath: string;
  readonly maxConnections: number;
}

/** What embedded_worker.js answers. */
type EmbeddedWorkerMessage = { type: 'ready' } | { type: 'failed'; message: string } | { type: 'stopped' };

/** Starts the worker thread and waits until its socket accepts connections. */
async function startPgliteThread(data: EmbeddedWorkerData, log: Logger | undefined): Promise<PgliteThread> {
  const worker = new Worker(new URL('./embedded_worker.js', import.meta.url), { workerData: data });
  let stopping = false;
  await new Promise<void>((resolve, reject) => {
    const onMessage = (message: EmbeddedWorkerMessage) => {
      if (message.type === 'ready') resolve();
      if (message.type === 'failed') reject(new Error(message.message));
    };
    worker.on('message', onMessage);
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the embedded database thread exited (${code}) before it was ready`)));
  });
  worker.removeAllListeners();
  worker.on('error', (error) => {
    // Connections now fail, and requests answer 503 as for any lost database.
    if (!stopping) log?.error('the embedded database thread failed', { error: error.message });
  });
  return {
    async stop() {
      stopping = true;
      const exited = new Promise((resolve) => worker.once('exit', resolve));
      const stopped = new Promise<void>((resolve) => worker.on('message', (message: EmbeddedWorkerMessage) => message.type === 'stopped' && resolve()));
      worker.postMessage('stop');
      // A thread that has already died answers nothing: its exit is enough.
      await Promise.race([stopped, exited]);
      await worker.terminate();
    },
  };
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
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isProcessAlive(holder)) {
        throw new Error(`it is in use by process ${holder} (a running keygate); stop that first, or use DATABASE_URL to share a PostgreSQL server`);
      }
      await rm(lockFile, { force: true });
    }
  }
  throw new Error(`could not take ${lockFile}`);
}
