import { once } from 'node:events';
import { createConnection, createServer, type Socket } from 'node:net';

/**
 * A loopback TCP proxy in front of PostgreSQL, for faults no test may cause on the
 * shared server itself: a hung server (pause: bytes stop moving, as with a stopped
 * postgres whose kernel still accepts them), new connections refused while open ones
 * keep working, or every connection cut.
 */
export interface TcpProxy {
  readonly port: number;
  /** `databaseUrl` with its host and port replaced by the proxy's. */
  url(databaseUrl: string): string;
  pause(): void;
  resume(): void;
  refuseNew(refuse: boolean): void;
  /** The local ports of the open connections to the target: `client_port` in pg_stat_activity. */
  upstreamPorts(): number[];
  /**
   * Open connections whose last bytes forwarded to the target have had no answer yet. After
   * resume(), 0 means PostgreSQL has answered (so executed) whatever was held while paused.
   */
  awaitingAnswer(): number;
  /** Cuts every open connection (and refuses new ones until refuseNew(false)). */
  cutAll(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const pairs = new Set<[Socket, Socket]>();
  /** Client sockets whose bytes went to the target with nothing back since. */
  const unanswered = new Set<Socket>();
  let paused = false;
  let refusing = false;

  const forward = (from: Socket, to: Socket) => {
    from.on('data', (chunk: Buffer) => {
      if (!to.write(chunk)) from.pause();
    });
    to.on('drain', () => {
      if (!paused) from.resume();
    });
    from.on('end', () => to.end());
    from.on('error', () => to.destroy());
    from.on('close', () => to.destroy());
  };

  const server = createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    const upstream = createConnection(target);
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    client.on('close', () => pairs.delete(pair));
    forward(client, upstream);
    forward(upstream, client);
    client.on('data', () => unanswered.add(client));
    upstream.on('data', () => unanswered.delete(client));
    client.on('close', () => unanswered.delete(client));
    if (paused) {
      client.pause();
      upstream.pause();
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };

  return {
    port,
    url(databaseUrl) {
      const url = new URL(databaseUrl);
      url.hostname = '127.0.0.1';
      url.port = String(port);
      return url.toString();
    },
    pause() {
      paused = true;
      for (const [client, upstream] of pairs) {
        client.pause();
        upstream.pause();
      }
    },
    resume() {
      paused = false;
      for (const [client, upstream] of pairs) {
        client.resume();
        upstream.resume();
      }
    },
    upstreamPorts() {
      return [...pairs].map(([, upstream]) => upstream.localPort).filter((port): port is number => port !== undefined);
    },
    awaitingAnswer() {
      return unanswered.size;
    },
    refuseNew(refuse) {
      refusing = refuse;
    },
    cutAll() {
      refusing = true;
      for (const [client, upstream] of pairs) {
        client.destroy();
        upstream.destroy();
      }
    },
    async close() {
      for (const [client, upstream] of pairs) {
        client.destroy();
        upstream.destroy();
      }
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
