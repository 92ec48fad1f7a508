import type { Knex } from 'knex';
import { newId } from '../shared/ids.js';

/** Who did something: a user (by id), an operator, or Keygate itself. */
export interface Actor {
  readonly type: 'user' | 'operator' | 'system';
  /** users.id, or null for the system. */
  readonly id: string | null;
  readonly ip?: string | undefined;
  readonly userAgent?: string | undefined;
}

export const SYSTEM_ACTOR: Actor = { type: 'system', id: null };

export interface AuditEvent {
  readonly action: string;
  readonly targetType: string;
  readonly targetId: string;
  readonly accountId: string | null;
  readonly environmentId: string | null;
  readonly before?: Record<string, unknown> | undefined;
  readonly after?: Record<string, unknown> | undefined;
}

/** Appends one event in the caller's transaction, so it commits or rolls back with the change. */
export async function appendEvent(trx: Knex.Transaction, actor: Actor, event: AuditEvent, at: Date): Promise<void> {
  await appendEvents(trx, actor, [event], at);
}

/** Appends several events in one statement (bulk changes). */
export async function appendEvents(trx: Knex.Transaction, actor: Actor, events: readonly AuditEvent[], at: Date): Promise<void> {
  if (events.length === 0) return;
  await trx('audit_events').insert(events.map((event) => eventRow(actor, event, at)));
}

function eventRow(actor: Actor, event: AuditEvent, at: Date) {
  return {
    id: newId('event'),
    at,
    actor_type: actor.type,
    actor_id: actor.id,
    action: event.action,
    target_type: event.targetType,
    target_id: event.targetId,
    account_id: event.accountId,
    environment_id: event.environmentId,
    before: event.before === undefined ? null : JSON.stringify(event.before),
    after: event.after === undefined ? null : JSON.stringify(event.after),
    ip: actor.ip ?? null,
    user_agent: actor.userAgent ?? null,
  };
}
