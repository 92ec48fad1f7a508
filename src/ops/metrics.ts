import type { Knex } from 'knex';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics of one process, served at GET /metrics. */
export class Metrics {
  readonly registry = new Registry();

  readonly tokensIssued = new Counter({
    name: 'keygate_tokens_issued_total',
    help: 'Access tokens issued, by resource server.',
    labelNames: ['resource'] as const,
    registers: [this.registry],
  });

  readonly tokensRefused = new Counter({
    name: 'keygate_tokens_refused_total',
    help: 'Token requests refused, by OAuth error code and requested resource.',
    labelNames: ['error', 'resource'] as const,
    registers: [this.registry],
  });

  readonly tokenLatency = new Histogram({
    name: 'keygate_token_request_duration_seconds',
    help: 'Time to answer POST /token, in seconds.',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [this.registry],
  });

  readonly adminRequests = new Counter({
    name: 'keygate_admin_requests_total',
    help: 'Admin API requests, by route and status.',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });

  constructor(knex: Knex) {
    collectDefaultMetrics({ register: this.registry, prefix: 'keygate_process_' });
    // knex's pool (tarn) counts are read when Prometheus scrapes.
    const pool = () => (knex.client as { pool?: { numUsed(): number; numFree(): number; numPendingAcquires(): number } }).pool;
    new Gauge({
      name: 'keygate_db_pool_connections',
      help: 'Database pool connections, by state (used, free, pending).',
      labelNames: ['state'] as const,
      registers: [this.registry],
      collect() {
        const current = pool();
        this.set({ state: 'used' }, current?.numUsed() ?? 0);
        this.set({ state: 'free' }, current?.numFree() ?? 0);
        this.set({ state: 'pending' }, current?.numPendingAcquires() ?? 0);
      },
    });
  }
}
