import type { Knex } from 'knex';
import type { Clock } from '../shared/clock.js';
import type { UsageRecorder } from './recorder.js';
import { hourlyTotals, recentUsage, rollupTotals, totals, type UsageRecord, type UsageWindowCounts } from './store.js';

const HOUR_MS = 3_600_000;
/** Hours in the hourly series: 24, the current one included. */
export const SERIES_HOURS = 24;
/** Most reasons, resources and scopes a summary lists: 10. */
const TOP = 10;
/** Requests listed in full: the last 20. */
const RECENT = 20;

export interface UsageSummary {
  readonly generatedAt: Date;
  readonly last24h: { readonly issued: number; readonly refused: number };
  readonly last7d: { readonly issued: number; readonly refused: number };
  readonly refusals: readonly UsageWindowCounts[];
  readonly resources: readonly UsageWindowCounts[];
  readonly scopes: readonly UsageWindowCounts[];
  readonly hourly: ReadonlyArray<{ readonly hour: Date; readonly issued: number; readonly refused: number }>;
  readonly recent: readonly UsageRecord[];
}

/**
 * The usage log's read side. Totals, breakdowns and the series come from the hourly
 * rollups, so a summary reads at most a week of hours per dimension whatever the
 * traffic; the last requests come from the log's (client_id, at) index. Windows are
 * whole hours: "24 hours" is the current hour and the 23 before it.
 */
export class UsageReport {
  constructor(
    private readonly db: Knex,
    private readonly clock: Clock,
    /** This process's buffer, flushed first so that a summary includes its own latest requests. */
    private readonly recorder: UsageRecorder | undefined,
  ) {}

  async summary(clientId: string): Promise<UsageSummary> {
    await this.recorder?.flush();
    const now = this.clock.now();
    const currentHour = now.getTime() - (now.getTime() % HOUR_MS);
    const since24h = new Date(currentHour - (SERIES_HOURS - 1) * HOUR_MS);
    const since7d = new Date(currentHour - (7 * 24 - 1) * HOUR_MS);
    const [total, refusals, resources, scopes, hours, recent] = await Promise.all([
      totals(this.db, clientId, since24h, since7d),
      rollupTotals(this.db, clientId, 'reason', since24h, since7d, TOP),
      rollupTotals(this.db, clientId, 'resource', since24h, since7d, TOP),
      rollupTotals(this.db, clientId, 'scope', since24h, since7d, TOP),
      hourlyTotals(this.db, clientId, since24h),
      recentUsage(this.db, clientId, RECENT),
    ]);
    const byHour = new Map(hours.map((hour) => [hour.hour.getTime(), hour]));
    return {
      generatedAt: now,
      last24h: { issued: total.issued24h, refused: total.refused24h },
      last7d: { issued: total.issued7d, refused: total.refused7d },
      refusals,
      resources,
      scopes,
      hourly: Array.from({ length: SERIES_HOURS }, (_, i) => {
        const hour = since24h.getTime() + i * HOUR_MS;
        return { hour: new Date(hour), issued: byHour.get(hour)?.issued ?? 0, refused: byHour.get(hour)?.refused ?? 0 };
      }),
      recent,
    };
  }
}
