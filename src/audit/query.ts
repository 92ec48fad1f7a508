import type { Knex } from 'knex';
import { withPgErrors } from '../db/errors.js';

export interface AuditEventView {
  readonly id: string;
  /** Insertion order; the history cursor. */
  readonly seq: number;
  readonly at: Date;
  readonly action: string;
  readonly actor: { readonly type: string; readonly id: string | null; readonly email: string | null; readonly name: string | null };
  readonly target: { readonly type: string; readonly id: string };
  readonly accountId: string | null;
  readonly environmentId: string | null;
  readonly before: unknown;
  readonly after: unknown;
  readonly ip: string | null;
  readonly userAgent: string | null;
}

export interface AuditFilter {
  readonly accountId?: string | undefined;
  readonly targetId?: string | undefined;
  /** Only these environments (an environment admin's reach), when given. */
  readonly environmentIds?: readonly string[] | undefined;
  readonly action?: string | undefined;
  readonly actorId?: string | undefined;
  readonly environmentId?: string | undefined;
  readonly from?: Date | undefined;
  readonly to?: Date | undefined;
}

interface EventRow {
  id: string;
  seq: number;
  at: Date;
  action: string;
  actor_type: string;
  actor_id: string | null;
  actor_email: string | null;
  actor_name: string | null;
  target_type: string;
  target_id: string;
  account_id: string | null;
  environment_id: string | null;
  before: unknown;
  after: unknown;
  ip: string | null;
  user_agent: string | null;
}

export interface EventPage {
  readonly limit: number;
  /** Resume after the event with this seq (older ones follow). */
  readonly beforeSeq?: number | undefined;
}

/** Newest first, in insertion order. */
export async function listEvents(db: Knex, filter: AuditFilter, page: EventPage): Promise<AuditEventView[]> {
  const query = db('audit_events as e')
    .leftJoin('users as u', 'u.id', 'e.actor_id')
    .select('e.*', 'u.email as actor_email', 'u.name as actor_name');
  if (filter.accountId !== undefined) void query.where('e.account_id', filter.accountId);
  if (filter.targetId !== undefined) void query.where('e.target_id', filter.targetId);
  if (filter.environmentIds !== undefined) void query.whereIn('e.environment_id', [...filter.environmentIds]);
  if (filter.action !== undefined) void query.where('e.action', filter.action);
  if (filter.actorId !== undefined) void query.where('e.actor_id', filter.actorId);
  if (filter.environmentId !== undefined) void query.where('e.environment_id', filter.environmentId);
  if (filter.from !== undefined) void query.where('e.at', '>=', filter.from);
  if (filter.to !== undefined) void query.where('e.at', '<', filter.to);
  if (page.beforeSeq !== undefined) void query.where('e.seq', '<', page.beforeSeq);
  // A filter the edge let through but the database cannot hold (a date-time out of its range) is a 400.
  const rows = (await withPgErrors(query.orderBy('e.seq', 'desc').limit(page.limit))) as EventRow[];
  return rows.map((row) => ({
    id: row.id,
    seq: Number(row.seq),
    at: row.at,
    action: row.action,
    actor: { type: row.actor_type, id: row.actor_id, email: row.actor_email, name: row.actor_name },
    target: { type: row.target_type, id: row.target_id },
    accountId: row.account_id,
    environmentId: row.environment_id,
    before: row.before,
    after: row.after,
    ip: row.ip,
    userAgent: row.user_agent,
  }));
}

/** Read side of the audit log for the admin API (which never imports knex). */
export class AuditHistory {
  constructor(private readonly db: Knex) {}

  list(filter: AuditFilter, page: EventPage): Promise<AuditEventView[]> {
    return listEvents(this.db, filter, page);
  }
}
