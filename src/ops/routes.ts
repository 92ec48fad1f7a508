import { timingSafeEqual } from 'node:crypto';
import type { Context, Next } from 'koa';
import type { Knex } from 'knex';
import type { ChangeFeed } from '../db/notify.js';
import type { KeySet } from '../signing/keystore.js';
import type { Metrics } from './metrics.js';

function sameSecret(presented: string, expected: string): boolean {
  const a = Buffer.from(presented);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * GET /healthz: the process is up. GET /readyz: the database answers and signing keys
 * are loaded; it also reports the change feed, without failing on it: with the feed
 * down the process still answers correctly (it reads each keypair from the database),
 * and since a PostgreSQL restart drops every process's feed at once, failing readiness
 * on it would take the whole fleet out of a load balancer together.
 * GET /metrics: Prometheus text, behind METRICS_TOKEN when it is set.
 */
export function opsMiddleware(deps: { db: Knex; changes: Pick<ChangeFeed, 'state'>; keySet: () => KeySet; metrics: Metrics; metricsToken: string | undefined }) {
  return async (ctx: Context, next: Next) => {
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') return next();
    switch (ctx.path) {
      case '/healthz':
        ctx.set('Cache-Control', 'no-store');
        ctx.body = { status: 'ok' };
        return;
      case '/readyz': {
        ctx.set('Cache-Control', 'no-store');
        const checks = { database: 'ok', keys: deps.keySet().keys.length > 0 ? 'ok' : 'missing', changeFeed: deps.changes.state };
        try {
          await deps.db.raw('select 1');
        } catch {
          checks.database = 'unreachable';
        }
        const ready = checks.database === 'ok' && checks.keys === 'ok';
        ctx.status = ready ? 200 : 503;
        ctx.body = { status: ready ? 'ready' : 'not_ready', checks };
        return;
      }
      case '/metrics': {
        if (deps.metricsToken !== undefined) {
          const presented = /^Bearer (.+)$/.exec(ctx.get('Authorization'))?.[1];
          if (presented === undefined || !sameSecret(presented, deps.metricsToken)) {
            ctx.status = 401;
            ctx.set('WWW-Authenticate', 'Bearer realm="metrics"');
            ctx.body = { error: 'unauthorized', error_description: 'GET /metrics needs Authorization: Bearer <METRICS_TOKEN>' };
            return;
          }
        }
        ctx.set('Content-Type', deps.metrics.registry.contentType);
        ctx.body = await deps.metrics.registry.metrics();
        return;
      }
      default:
        return next();
    }
  };
}
