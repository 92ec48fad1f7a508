/**
 * The benchmark's load generator: wrk (C, from Debian's packages) when installed,
 * else autocannon. Both run in this process's core (see run.ts), one thread, with
 * CONNECTIONS keep-alive connections; `ceiling()` measures what the generator itself
 * can send, against a trivial endpoint, so a run shows the generator was not the limit.
 */
import { execFile, execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import autocannon from 'autocannon';

const run = promisify(execFile);
const TOKEN_SCRIPT = path.join(import.meta.dirname, 'token.lua');
const BODY = 'grant_type=client_credentials';

export const generator: 'wrk' | 'autocannon' = (() => {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
    return 'wrk';
  } catch (error) {
    // wrk --version exits 1 after printing its version: it is there.
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'autocannon' : 'wrk';
  }
})();

export interface LoadResult {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
  /** Socket errors, plus answers that were not 2xx. */
  readonly errors: number;
  /** Sequential runs only: requests made after every header had been used once. */
  readonly wrapped: number;
}

export interface LoadOptions {
  readonly connections: number;
  readonly durationSeconds: number;
  /** random: a header drawn per request; sequential: each once, in order (first uses). */
  readonly mode?: 'random' | 'sequential';
}

/** Where a list of Authorization headers (or form bodies) is written for token.lua to read, one per line. */
export class HeaderFile {
  constructor(
    readonly file: string,
    readonly headers: readonly string[],
  ) {}

  static async write(file: string, headers: readonly string[]): Promise<HeaderFile> {
    await writeFile(file, `${headers.join('\n')}\n`);
    return new HeaderFile(file, headers);
  }
}

/** POST /token under load, each request with a header from `headers`. */
export function loadToken(url: string, headers: HeaderFile, options: LoadOptions): Promise<LoadResult> {
  return loadLines(url, headers, options, 'header');
}

/** POST /token under load with form bodies from `bodies` (one per line): clients that authenticate in the body. */
export function loadForm(url: string, bodies: HeaderFile, options: LoadOptions): Promise<LoadResult> {
  return loadLines(url, bodies, options, 'body');
}

async function loadLines(url: string, lines: HeaderFile, options: LoadOptions, line: 'header' | 'body'): Promise<LoadResult> {
  const mode = options.mode ?? 'random';
  if (generator === 'wrk') {
    const args = ['-t1', `-c${options.connections}`, `-d${options.durationSeconds}s`, '--timeout', '10s', '-s', TOKEN_SCRIPT, `${url}/token`];
    const { stdout } = await run('wrk', args, { env: { ...process.env, LINES_FILE: lines.file, LINE: line, MODE: mode }, maxBuffer: 1 << 20 });
    return fromWrk(stdout);
  }
  let next = 0;
  const pick = mode === 'sequential' ? () => lines.headers[next++ % lines.headers.length]! : () => lines.headers[Math.floor(Math.random() * lines.headers.length)]!;
  const request = (base: autocannon.Request): autocannon.Request =>
    line === 'header'
      ? { ...base, headers: { ...base.headers, 'content-type': 'application/x-www-form-urlencoded', authorization: pick() }, body: BODY }
      : { ...base, headers: { ...base.headers, 'content-type': 'application/x-www-form-urlencoded' }, body: pick() };
  const result = await autocannon({ url: `${url}/token`, connections: options.connections, duration: options.durationSeconds, requests: [{ method: 'POST', setupRequest: request }] });
  return fromAutocannon(result, Math.max(0, next - lines.headers.length));
}

/** GET `url` under load: the generator's own ceiling against a trivial endpoint. */
export async function ceiling(url: string, options: LoadOptions): Promise<LoadResult> {
  if (generator === 'wrk') {
    const script = path.join(import.meta.dirname, 'plain.lua');
    const { stdout } = await run('wrk', ['-t1', `-c${options.connections}`, `-d${options.durationSeconds}s`, '-s', script, url], { maxBuffer: 1 << 20 });
    return fromWrk(stdout);
  }
  return fromAutocannon(await autocannon({ url, connections: options.connections, duration: options.durationSeconds }), 0);
}

function fromWrk(stdout: string): LoadResult {
  const line = stdout.split('\n').find((text) => text.startsWith('{"requests"'));
  if (!line) throw new Error(`wrk printed no result: ${stdout}`);
  const summary = JSON.parse(line) as { requests: number; durationUs: number; p50: number; p99: number; p999: number; max: number; socketErrors: number; non2xx: number; wrapped: number };
  return {
    rps: Math.round(summary.requests / (summary.durationUs / 1e6)),
    p50: round(summary.p50),
    p99: round(summary.p99),
    p999: round(summary.p999),
    max: round(summary.max),
    errors: summary.socketErrors + summary.non2xx,
    wrapped: summary.wrapped,
  };
}

function fromAutocannon(result: autocannon.Result, wrapped: number): LoadResult {
  const latency = result.latency as unknown as Record<string, number>;
  return {
    rps: Math.round(result.requests.average),
    p50: latency.p50!,
    p99: latency.p99!,
    p999: latency.p99_9 ?? result.latency.max,
    max: result.latency.max,
    errors: result.errors + result.timeouts + result.non2xx,
    wrapped,
  };
}

const round = (ms: number) => Math.round(ms * 100) / 100;
