import { once } from 'node:events';
import { Agent, get, request, type RequestOptions } from 'node:http';
import type { Socket } from 'node:net';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort, runCli, startServerProcess } from '../support/cli.js';
import { waitFor } from '../support/wait.js';

/** Starts a token request and sends half its body: it is in flight until finish() is called; `connected` once its connection is open. */
function halfSentTokenRequest(port: number, clientId: string, secret: string) {
  const body = 'grant_type=client_credentials&scope=read';
  let resolveResponse: (value: { status: number; body: string }) => void;
  let rejectResponse: (error: Error) => void;
  const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
    resolveResponse = resolve;
    rejectResponse = reject;
  });
  const req = request(
    tokenRequestOptions(port, clientId, secret, body),
    (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => resolveResponse({ status: res.statusCode ?? 0, body: text }));
    },
  );
  req.on('error', (error) => rejectResponse(error));
  const connected = new Promise<void>((resolve) => req.once('socket', (socket) => socket.once('connect', () => resolve())));
  req.write(body.slice(0, 10));
  return { response, connected, finish: () => req.end(body.slice(10)) };
}

/** A token request (client_secret_basic) to the server on `port`, for node:http's request(). */
function tokenRequestOptions(port: number, clientId: string, secret: string, body: string): RequestOptions {
  return {
    host: '127.0.0.1',
    port,
    method: 'POST',
    path: '/token',
    headers: {
      authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
      'content-length': Buffer.byteLength(body),
    },
  };
}

interface LoopResult {
  /** Responses, in order: status, whether the body was a whole token response, the Connection header, when. */
  readonly responses: Array<{ status: number; whole: boolean; connection: string | undefined; sentAfterSigterm: boolean; receivedAfterSigterm: boolean }>;
  /** The error that ended the loop, if one did (a request cut). */
  readonly error: string | undefined;
}

/**
 * A client on one keep-alive connection sending token requests back to back until a
 * response says `Connection: close` (it leaves, as a client should), a request fails,
 * or `stopped()` says so.
 */
async function keepAliveLoop(port: number, clientId: string, secret: string, sigtermSent: () => boolean, stopped: () => boolean, onResponse: () => void): Promise<LoopResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const body = 'grant_type=client_credentials&scope=read';
  const responses: LoopResult['responses'] = [];
  try {
    while (!stopped()) {
      const sentAfterSigterm = sigtermSent();
      const response = await new Promise<LoopResult['responses'][number]>((resolve, reject) => {
        const req = request(
          { ...tokenRequestOptions(port, clientId, secret, body), agent },
          (res) => {
            let text = '';
            res.on('data', (chunk: Buffer) => (text += chunk.toString()));
            res.on('end', () => {
              const whole = (() => {
                try {
                  return typeof (JSON.parse(text) as { access_token?: unknown }).access_token === 'string';
                } catch {
                  return false;
                }
              })();
              resolve({ status: res.statusCode ?? 0, whole, connection: res.headers.connection, sentAfterSigterm, receivedAfterSigterm: sigtermSent() });
            });
            res.on('error', reject);
          },
        );
        req.on('error', reject);
        req.end(body);
      });
      responses.push(response);
      onResponse();
      if (response.connection === 'close') break;
    }
    return { responses, error: undefined };
  } catch (error) {
    return { responses, error: (error as Error).message };
  } finally {
    agent.destroy();
  }
}

/**
 * A GET /healthz on a connection of its own, answered. The kernel hands connections to the
 * server in the order they were opened, so once this one is answered, the server has
 * taken every connection opened before it.
 */
function answeredOnNewConnection(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path: '/healthz', agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    }).on('error', reject);
  });
}

/** GET /jwks through `agent`; the socket stays in the agent's pool when the server keeps it open. */
function fetchJwksOn(port: number, agent: Agent): Promise<{ connection: string | undefined; socket: Socket }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, agent, path: '/jwks' }, (res) => {
      res.resume();
      res.on('end', () => resolve({ connection: res.headers.connection, socket: req.socket! }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('SIGHUP', () => {
  it('reloads the signing keys of a running server: a rotated key is published at once, said in a JSON log line', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'keygate-sighup-'));
    const port = await freePort();
    const env = { PORT: String(port), ISSUER: `http://127.0.0.1:${port}`, DATA_DIR: path.join(dir, 'data'), KEYS_FILE: path.join(dir, 'jwks.json'), LOG_LEVEL: 'info' };
    const server = await startServerProcess(env, dir);
    try {
      const kids = async () => ((await (await fetch(`${server.url}/jwks`)).json()) as { keys: Array<{ kid: string }> }).keys.map((key) => key.kid);
      expect(await kids()).toHaveLength(1);
      const rotated = await runCli(['keys', 'rotate'], env, dir);
      const added = /added ES256 key (\S+);/.exec(rotated.stdout)![1]!;
      expect(await kids()).not.toContain(added);
      server.child.kill('SIGHUP');
      await waitFor(async () => (await kids()).includes(added), { timeoutMs: 5000 });
      expect(await kids()).toContain(added);
      const reloaded = server
        .output()
        .split('\n')
        .filter((line) => line.includes('signing keys reloaded'));
      expect(reloaded.map((line) => JSON.parse(line) as unknown)).toEqual([expect.objectContaining({ level: 'info', msg: 'signing keys reloaded', signal: 'SIGHUP', published: 2 })]);
    } finally {
      await server.stop();
    }
  });
});

describe('SIGTERM', () => {
  it('lets requests in flight finish, writes last-used times and usage records, and exits 0', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'keygate-shutdown-'));
    const port = await freePort();
    // Last-used times and usage records are written only at shutdown in this run (the interval is an hour).
    const env = { PORT: String(port), ISSUER: `http://127.0.0.1:${port}`, DATA_DIR: path.join(dir, 'data'), KEYS_FILE: path.join(dir, 'jwks.json'), LAST_USED_FLUSH_SECONDS: '3600' };
    const server = await startServerProcess(env, dir);
    const created = await runCli(['keypairs', 'create', '--name', 'draining', '--scopes', 'read', '--json'], { ...env, KEYGATE_URL: server.url }, dir);
    const { clientId, clientSecret } = JSON.parse(created.stdout) as { clientId: string; clientSecret: string };

    const inFlight = Array.from({ length: 10 }, () => halfSentTokenRequest(port, clientId, clientSecret));
    // The server has taken their connections (not left them in the listen queue, which SIGTERM closes).
    await Promise.all(inFlight.map((pending) => pending.connected));
    expect(await answeredOnNewConnection(port)).toBe(200);
    server.child.kill('SIGTERM');
    // It is draining now: it says so as it stops accepting.
    expect(await waitFor(() => server.output().includes('SIGTERM: shutting down'))).toBe(true);
    for (const pending of inFlight) pending.finish();
    const responses = await Promise.all(inFlight.map((pending) => pending.response));
    expect(responses.map((response) => response.status)).toEqual(Array(10).fill(200));
    const code = await new Promise<number | null>((resolve) => (server.child.exitCode !== null ? resolve(server.child.exitCode) : server.child.once('exit', resolve)));
    expect(code).toBe(0);
    expect(server.output()).toContain('SIGTERM: shutting down');

    // Restarted on the same data: the last-used time written at shutdown is there.
    const again = await startServerProcess(env, dir);
    try {
      const shown = await runCli(['keypairs', 'show', clientId, '--json'], { ...env, KEYGATE_URL: again.url }, dir);
      expect((JSON.parse(shown.stdout) as { lastUsedAt: string | null }).lastUsedAt).not.toBeNull();
      const usage = await runCli(['keypairs', 'usage', clientId, '--json'], { ...env, KEYGATE_URL: again.url }, dir);
      expect((JSON.parse(usage.stdout) as { last24h: { issued: number } }).last24h).toEqual({ issued: 10, refused: 0 });
    } finally {
      await again.stop();
    }
  }, 120_000);
});

describe('SIGTERM with keep-alive clients', () => {
  it('serves 16 clients looping on keep-alive connections to the end: no request cut, Connection: close after SIGTERM, exit once they leave', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'keygate-keepalive-'));
    const port = await freePort();
    // The longest SHUTDOWN_TIMEOUT, 10 minutes: the process must not need it. An exit seen
    // within the waits below, which end long before that, came from the clients leaving.
    const shutdownTimeout = 600;
    const env = { PORT: String(port), ISSUER: `http://127.0.0.1:${port}`, DATA_DIR: path.join(dir, 'data'), KEYS_FILE: path.join(dir, 'jwks.json'), SHUTDOWN_TIMEOUT: String(shutdownTimeout), RATE_LIMIT_PER_MINUTE: '0' };
    const server = await startServerProcess(env, dir);
    try {
      const created = await runCli(['keypairs', 'create', '--name', 'looping', '--scopes', 'read', '--json'], { ...env, KEYGATE_URL: server.url }, dir);
      const { clientId, clientSecret } = JSON.parse(created.stdout) as { clientId: string; clientSecret: string };

      const exited = new Promise<number | null>((resolve) => server.child.once('exit', (code) => resolve(code)));
      // And one client that keeps its connection open but sends nothing more: it must not hold the exit up either.
      const idleAgent = new Agent({ keepAlive: true, maxSockets: 1 });
      const idle = await fetchJwksOn(port, idleAgent);
      expect(idle.connection).toBe('keep-alive');
      const idleClosed = once(idle.socket, 'close');
      let sigtermAt: number | undefined;
      let stopAll = false;
      // SIGTERM once every client has had a few responses on its connection.
      let answered = 0;
      let warmedUp!: () => void;
      const warm = new Promise<void>((resolve) => (warmedUp = resolve));
      const clients = Array.from({ length: 16 }, () =>
        keepAliveLoop(port, clientId, clientSecret, () => sigtermAt !== undefined, () => stopAll, () => {
          answered += 1;
          if (answered === 16 * 4) warmedUp();
        }),
      );
      await warm;
      sigtermAt = Date.now();
      server.child.kill('SIGTERM');

      // Bounded: on a server that keeps the connections open, the loops would run until SHUTDOWN_TIMEOUT.
      const guard = setTimeout(() => (stopAll = true), 20_000);
      const results = await Promise.all(clients);
      clearTimeout(guard);

      expect(results.map((result) => result.error)).toEqual(Array(16).fill(undefined));
      const all = results.flatMap((result) => result.responses);
      expect(all.filter((response) => response.status !== 200 || !response.whole)).toEqual([]);
      // Before SIGTERM the connections stay open; every client's last response closes its connection.
      expect(all.filter((response) => !response.receivedAfterSigterm && response.connection !== 'keep-alive')).toEqual([]);
      expect(results.map((result) => result.responses.at(-1)!.connection)).toEqual(Array(16).fill('close'));
      // A request sent after SIGTERM is answered with Connection: close (at most one per client
      // may have been read before the process handled the signal).
      for (const result of results) {
        expect(result.responses.filter((response) => response.sentAfterSigterm && response.connection !== 'close').length).toBeLessThanOrEqual(1);
      }

      // Once the clients have gone the process exits, long before SHUTDOWN_TIMEOUT.
      const code = await Promise.race([exited, new Promise<string>((resolve) => setTimeout(() => resolve('still running'), 20_000))]);
      expect(code).toBe(0);
      expect(server.output()).not.toContain('shutdown failed');
      await idleClosed;
      idleAgent.destroy();
    } finally {
      await server.stop('SIGKILL');
    }
  }, 180_000);
});
