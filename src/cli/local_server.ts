import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config/config.js';
import { isProcessAlive } from '../shared/process.js';

/**
 * DATA_DIR/server.json: where the local `keygate serve` listens, so a CLI in another
 * shell finds a server on a non-default PORT or ISSUER with no setting at all.
 */
export interface LocalServer {
  /** The server's ISSUER: its base URL, and the issuer an operator token must carry. */
  readonly url: string;
  readonly pid: number;
}

export const serverFilePath = (config: Config) => path.join(config.dataDir, 'server.json');

/** Written once the server listens, 0600: only the server's user needs to read it. */
export async function writeServerFile(config: Config): Promise<void> {
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const record: LocalServer = { url: config.issuer, pid: process.pid };
  await writeFile(serverFilePath(config), `${JSON.stringify(record)}\n`, { mode: 0o600 });
}

/**
 * Removed at a clean shutdown, but only if it is still ours: with DATABASE_URL another
 * server may share DATA_DIR and have written it since.
 */
export async function removeServerFile(config: Config): Promise<void> {
  const recorded = await readServerFile(config);
  if (recorded?.pid === process.pid) await rm(serverFilePath(config), { force: true });
}

async function readServerFile(config: Config): Promise<LocalServer | undefined> {
  try {
    const parsed = JSON.parse(await readFile(serverFilePath(config), 'utf8')) as Partial<LocalServer>;
    if (typeof parsed.url !== 'string' || !Number.isInteger(parsed.pid)) return undefined;
    return { url: parsed.url, pid: parsed.pid! };
  } catch {
    // Absent or half-written: as if no server had said where it is.
    return undefined;
  }
}

/** The server recorded in DATA_DIR, if its process still runs; a file left by a crash is ignored. */
export async function findLocalServer(config: Config): Promise<LocalServer | undefined> {
  const recorded = await readServerFile(config);
  return recorded && isProcessAlive(recorded.pid) ? recorded : undefined;
}

/**
 * The configuration a CLI call uses: unless a server URL was named (`named`, from --url
 * or KEYGATE_URL), the local server's ISSUER, which is both where to call and what a
 * token for it must be signed for.
 */
export async function withLocalIssuer(config: Config, named: string | undefined): Promise<Config> {
  const local = named === undefined ? await findLocalServer(config) : undefined;
  return local ? { ...config, issuer: local.url } : config;
}
