import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { once } from 'node:events';
import { chmod, copyFile, lstat, mkdtemp, readdir, readFile, readlink, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { startEmbeddedPostgres } from '../../src/db/embedded.js';
import { freePort, startServerProcess } from '../support/cli.js';

const PG_MODULE = createRequire(import.meta.url).resolve('pg');
const NOBODY = 65534;

/** The TCP ports and Unix socket paths process `pid` listens on (Linux: /proc). */
async function listeners(pid: number): Promise<{ tcpPorts: number[]; unixPaths: string[] }> {
  const inodes = new Set<string>();
  for (const fd of await readdir(`/proc/${pid}/fd`)) {
    const match = /^socket:\[(\d+)\]$/.exec(await readlink(`/proc/${pid}/fd/${fd}`).catch(() => ''));
    if (match) inodes.add(match[1]!);
  }
  const rows = async (table: string) => (await readFile(`/proc/${pid}/net/${table}`, 'utf8')).trim().split('\n').slice(1).map((line) => line.trim().split(/\s+/));
  const tcpPorts: number[] = [];
  for (const table of ['tcp', 'tcp6']) {
    // sl local_address rem_address st ... inode (10th): st 0A is LISTEN.
    for (const row of await rows(table)) if (row[3] === '0A' && inodes.has(row[9]!)) tcpPorts.push(parseInt(row[1]!.split(':')[1]!, 16));
  }
  // Num RefCount Protocol Flags Type St Inode Path: flags 00010000 is a listening socket.
  const unixPaths = (await rows('unix')).filter((row) => row[3] === '00010000' && inodes.has(row[6]!) && row[7]).map((row) => row[7]!);
  return { tcpPorts, unixPaths };
}

/** Every entry under `dir` whose mode is not 0700 (directories) or 0600 (files), as "mode path". */
async function looseModes(dir: string): Promise<string[]> {
  const loose: string[] = [];
  const visit = async (entry: string) => {
    const info = await lstat(entry);
    const mode = info.mode & 0o7777;
    if (info.isDirectory()) {
      if (mode !== 0o700) loose.push(`${mode.toString(8)} ${entry}`);
      for (const name of await readdir(entry)) await visit(path.join(entry, name));
    } else if (info.isFile() && mode !== 0o600) {
      loose.push(`${mode.toString(8)} ${entry}`);
    }
  };
  await visit(dir);
  return loose;
}

/** Makes every directory under `dir` 0777 and every file 0666, as an older Keygate left them. */
async function loosen(dir: string): Promise<void> {
  await chmod(dir, 0o777);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const child = path.join(dir, entry.name);
    if (entry.isDirectory()) await loosen(child);
    else if (entry.isFile()) await chmod(child, 0o666);
  }
}

/** Connects with pg in a child process as this user; resolves to "connected" or the error code. */
async function connectAsOwner(socketPath: string): Promise<string> {
  const script = `
    const pg = require(${JSON.stringify(PG_MODULE)});
    const client = new pg.Client({ host: ${JSON.stringify(path.dirname(socketPath))}, port: ${Number(socketPath.split('.').pop())}, user: 'postgres', database: 'postgres' });
    client.connect().then(() => client.query('select 1')).then(() => { process.stdout.write('connected'); process.exit(0); }, (error) => { process.stdout.write(String(error.code)); process.exit(1); });`;
  return outputOf(spawn(process.execPath, ['-e', script], { cwd: '/', env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'inherit'] }));
}

/**
 * Opens the socket as user `uid` in a child process; resolves to "connected" or the
 * error code. The child runs a copy of this node binary in a world-readable directory
 * and needs no module: the node in use may live where that user cannot reach (npx's
 * cache under /root), and so may this checkout's node_modules.
 */
async function connectAsUser(uid: number, socketPath: string): Promise<string> {
  const binDir = await mkdtemp(path.join(tmpdir(), 'keygate-node-'));
  await chmod(binDir, 0o755);
  const node = path.join(binDir, 'node');
  await copyFile(process.execPath, node);
  await chmod(node, 0o755);
  try {
    const script = `require('node:net').connect(${JSON.stringify(socketPath)}).on('connect', () => { process.stdout.write('connected'); process.exit(0); }).on('error', (error) => { process.stdout.write(String(error.code)); process.exit(1); });`;
    return await outputOf(spawn(node, ['-e', script], { uid, gid: uid, cwd: '/', env: {}, stdio: ['ignore', 'pipe', 'inherit'] }));
  } finally {
    await rm(binDir, { recursive: true, force: true });
  }
}

async function outputOf(child: ChildProcessByStdio<null, Readable, null>): Promise<string> {
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await once(child, 'exit');
  return output;
}

const isRoot = process.getuid?.() === 0;

describe('the embedded database of keygate serve', () => {
  it('listens on no TCP port, only on a Unix socket in a 0700 directory that another user cannot connect to', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'keygate-embedded-'));
    const port = await freePort();
    const dataDir = path.join(dir, 'data');
    const server = await startServerProcess({ PORT: String(port), ISSUER: `http://127.0.0.1:${port}`, DATA_DIR: dataDir, KEYS_FILE: path.join(dir, 'jwks.json') }, dir);
    try {
      const { tcpPorts, unixPaths } = await listeners(server.child.pid!);
      expect(tcpPorts).toEqual([port]);
      expect(unixPaths).toEqual([path.join(dataDir, 'socket', '.s.PGSQL.5432')]);
      expect((await stat(path.dirname(unixPaths[0]!))).mode & 0o777).toBe(0o700);
      // The owner connects (the socket is live) ...
      expect(await connectAsOwner(unixPaths[0]!)).toBe('connected');
      // ... another user cannot: the directory keeps it out (root alone can switch users here).
      if (isRoot) expect(await connectAsUser(NOBODY, unixPaths[0]!)).toBe('EACCES');
    } finally {
      expect(await server.stop()).toBe(0);
    }
    // Stopped: the socket's directory is gone.
    await expect(stat(path.join(dataDir, 'socket'))).rejects.toMatchObject({ code: 'ENOENT' });
  }, 180_000);

  it('keeps DATA_DIR 0700 and its files 0600: a new one, and an existing one left open by an older version', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'keygate-modes-'));
    const port = await freePort();
    const dataDir = path.join(dir, 'data');
    const env = { PORT: String(port), ISSUER: `http://127.0.0.1:${port}`, DATA_DIR: dataDir, KEYS_FILE: path.join(dir, 'keys', 'jwks.json') };

    const first = await startServerProcess(env, dir);
    try {
      expect(await looseModes(dataDir)).toEqual([]);
      expect((await stat(env.KEYS_FILE)).mode & 0o777).toBe(0o600);
    } finally {
      expect(await first.stop()).toBe(0);
    }
    expect(await looseModes(dataDir)).toEqual([]);

    await loosen(dataDir);
    expect((await looseModes(dataDir)).length).toBeGreaterThan(100);
    const again = await startServerProcess(env, dir);
    try {
      expect(await looseModes(dataDir)).toEqual([]);
    } finally {
      expect(await again.stop()).toBe(0);
    }
    expect(await looseModes(dataDir)).toEqual([]);
  }, 240_000);
});

describe('startEmbeddedPostgres', () => {
  it('in memory: the socket sits in a fresh 0700 directory, removed on stop', async () => {
    const embedded = await startEmbeddedPostgres(undefined);
    const host = new URL(embedded.url).searchParams.get('host')!;
    expect(new URL(embedded.url).host).toBe('');
    expect((await stat(host)).mode & 0o777).toBe(0o700);
    const client = new pg.Client(embedded.url);
    await client.connect();
    expect((await client.query('select 1 as one')).rows).toEqual([{ one: 1 }]);
    await client.end();
    await embedded.stop();
    await expect(stat(host)).rejects.toMatchObject({ code: 'ENOENT' });
  }, 120_000);

  it('a DATA_DIR whose path is too long for a socket: the socket goes to a temporary 0700 directory', async () => {
    const dataDir = path.join(await mkdtemp(path.join(tmpdir(), 'keygate-long-')), 'd'.repeat(100));
    const embedded = await startEmbeddedPostgres(dataDir);
    try {
      const host = new URL(embedded.url).searchParams.get('host')!;
      expect(host.startsWith(path.join(tmpdir(), 'keygate-db-'))).toBe(true);
      expect((await stat(host)).mode & 0o777).toBe(0o700);
      const client = new pg.Client(embedded.url);
      await client.connect();
      expect((await client.query('select 1 as one')).rows).toEqual([{ one: 1 }]);
      await client.end();
    } finally {
      await embedded.stop();
    }
    expect(await looseModes(dataDir)).toEqual([]);
  }, 120_000);
});
