import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Metrics } from '../ops/metrics.js';
import type { Logger } from '../shared/log.js';

/** What the request's line says once it is answered. */
export interface RequestOutcome {
  readonly status: number;
  /** The admin or console route it matched (a pattern, never the path): counted by route. */
  readonly route?: string | undefined;
}

/** Paths that serve machine clients at volume: their lines are debug, everything else's info. */
const HOT_PATHS = new Set(['/token', '/jwks']);

/**
 * Request ids and the one access line per request, for both ways a request is served
 * (Keygate's Koa app, or oidc-provider directly on the hot path; see app.ts).
 *
 * Every request gets an id (the caller's X-Request-Id when it is sane), echoed back
 * and carried by every log line about it. The access line has no query string and no
 * headers: nothing a client sends as a credential reaches the log.
 */
export class RequestLog {
  /** The request id of each request, for lines logged where only the raw request is at hand. */
  readonly #ids = new WeakMap<IncomingMessage, string>();

  constructor(
    private readonly metrics: Metrics,
    private readonly log: Logger,
  ) {}

  /** Gives the request its id and echoes it; `end` writes its line once it is answered. */
  begin(req: IncomingMessage, res: ServerResponse, path: string): { readonly requestId: string; end(outcome: RequestOutcome): void } {
    const incoming = req.headers['x-request-id'];
    const requestId = typeof incoming === 'string' && /^[\w.-]{1,64}$/.test(incoming) ? incoming : randomUUID();
    this.#ids.set(req, requestId);
    res.setHeader('X-Request-Id', requestId);
    const started = performance.now();
    const method = req.method;
    return {
      requestId,
      end: ({ status, route }) => {
        const seconds = (performance.now() - started) / 1000;
        if (path === '/token') this.metrics.tokenLatency.observe(seconds);
        if (route !== undefined) this.metrics.adminRequests.inc({ method, route, status: String(status) });
        const line = { requestId, method, path, status, ms: Math.round(seconds * 10_000) / 10 };
        if (HOT_PATHS.has(path)) this.log.debug('request', line);
        else this.log.info('request', line);
      },
    };
  }

  idOf(req: IncomingMessage): string | undefined {
    return this.#ids.get(req);
  }
}
