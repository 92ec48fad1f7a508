import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import path from 'node:path';
import { waitFor } from './wait.js';

/**
 * The CLI as users run it: compiled JavaScript, no TypeScript loaded at run time (half a
 * second less per command than through tsx). global_setup.ts builds dist/ from the
 * current sources before any file runs.
 */
export const KEYGATE_BIN = path.resolve(import.meta.dirname, '../../bin/keygate.js');

/** The environment a CLI child gets: the test runner's, minus anything that would point it elsewhere. */
function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const { DATABASE_URL: _d, KEYS_JWKS: _k, PORT: _p, ISSUER: _i, ...rest } = process.env;
  return { ...rest, LOG_LEVEL: 'warn', ...env };
}

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `keygate ARGS` to completion. */
export function runCli(args: string[], env: Record<string, string>, cwd: string): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [KEYGATE_BIN, ...args], { env: childEnv(env), cwd, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

export interface ServerProcess {
  readonly child: ChildProcess;
  readonly url: string;
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts `keygate serve` in its own process and waits until it listens. */
export async function startServerProcess(env: Record<string, string>, cwd: string): Promise<ServerProcess> {
  const port = env.PORT === undefined ? await freePort() : Number(env.PORT);
  const child = spawn(process.execPath, [KEYGATE_BIN, 'serve'], { env: childEnv({ PORT: String(port), ...env }), cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await waitFor(() => output.includes('Keygate listening') || child.exitCode !== null, { timeoutMs: 120_000 });
  if (!output.includes('Keygate listening')) {
    if (child.exitCode !== null) throw new Error(`keygate exited with ${child.exitCode}: ${output}`);
    child.kill('SIGKILL');
    throw new Error(`keygate did not start: ${output}`);
  }
  return {
    child,
    url: `http://127.0.0.1:${port}`,
    output: () => output,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null) return child.exitCode;
      child.kill(signal);
      const [code] = (await once(child, 'exit')) as [number | null];
      return code;
    },
  };
}
