/**
 * Server processes for the benchmark: started on core 0 (taskset) while the load
 * generator runs on core 1, each read for its RSS and, for Keygate, its event-loop
 * delay (from its own /metrics).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '..');
export const cores = availableParallelism();
export const pinned = cores >= 2 && existsSync('/usr/bin/taskset');

/** Moves this process (the load generator) to core 1; servers go to core 0. */
export function pinLoadGenerator(): void {
  if (pinned) execFileSync('taskset', ['-cp', '1', String(process.pid)], { stdio: 'ignore' });
}

let nextPort = 4500;
export const port = () => String(nextPort++);

export interface Server {
  readonly url: string;
  readonly child: ChildProcess;
  rssMiB(): number;
  /**
   * The longest event-loop delay (ms) since the last call: prom-client's gauge, which
   * it resets at every scrape of /metrics. undefined for a server without /metrics.
   */
  eventLoopDelayMaxMs(): Promise<number | undefined>;
  stop(): Promise<void>;
}

/** Starts a server process (node `args`) on core 0 and waits for `ready` in its output. */
export async function startServer(args: string[], env: Record<string, string>, ready: RegExp): Promise<Server> {
  const pin = pinned && env.WORKERS === undefined;
  const command = pin ? 'taskset' : process.execPath;
  const fullArgs = pin ? ['-c', '0', process.execPath, ...args] : args;
  const child = spawn(command, fullArgs, { cwd: ROOT, env: { ...process.env, LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk));
  const started = Date.now();
  while (!ready.test(output)) {
    if (child.exitCode !== null || Date.now() - started > 300_000) throw new Error(`server did not start: ${output}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const url = `http://127.0.0.1:${env.PORT}`;
  return {
    url,
    child,
    rssMiB() {
      // taskset execs node in place, so the pid is node's.
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      return Math.round(Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024);
    },
    async eventLoopDelayMaxMs() {
      const response = await fetch(`${url}/metrics`).catch(() => undefined);
      if (!response?.ok) return undefined;
      const seconds = /^keygate_process_nodejs_eventloop_lag_max_seconds (\S+)$/m.exec(await response.text())?.[1];
      return seconds === undefined ? undefined : Math.round(Number(seconds) * 1000 * 10) / 10;
    },
    async stop() {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}

/** A node:http server that answers every request "ok": what the load generator can do at most. */
export function startTrivialServer(): Promise<Server> {
  const portNumber = port();
  const source = `require('node:http').createServer((req, res) => res.end('ok')).listen(${portNumber}, '127.0.0.1', () => console.log('listening'))`;
  return startServer(['-e', source], { PORT: portNumber }, /listening/);
}
