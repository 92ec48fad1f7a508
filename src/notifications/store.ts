import type { Knex } from 'knex';
import { findAccount, findEnvironment } from '../tenancy/store.js';
import { adminEmailsOf, findUser } from '../tenancy/user_store.js';

export type NotificationEvent = 'keypair.created' | 'keypair.rotated' | 'keypair.disabled' | 'keypair.deleted' | 'keypair.expiring' | 'keypair.retired_secret_used';

/** What a notification says about its keypair. Never a secret: at most the hint. */
export interface NotificationPayload {
  readonly name: string;
  readonly secretHint?: string | null | undefined;
  readonly scopes?: readonly string[] | undefined;
  readonly actorType: 'user' | 'operator' | 'system';
  readonly actorId: string | null;
  readonly at: string;
  readonly reason?: string | null | undefined;
  readonly expiresAt?: string | null | undefined;
  readonly gracePeriodSeconds?: number | undefined;
  /** keypair.created: how its client authenticates; thumbprints of a public_key keypair's keys, a federated one's issuer and subject. */
  readonly credentialType?: 'secret' | 'public_key' | 'federated' | undefined;
  readonly thumbprints?: readonly string[] | undefined;
  readonly federation?: { readonly issuer: string; readonly subject: string; readonly claims: Readonly<Record<string, string>> } | undefined;
  /** keypair.retired_secret_used: addresses that sent a retired secret (a few). */
  readonly addresses?: readonly string[] | undefined;
}

export interface NewNotification {
  readonly event: NotificationEvent;
  readonly clientId: string;
  readonly accountId: string;
  readonly environmentId: string | null;
  readonly payload: NotificationPayload;
}

export interface OutboxRow {
  id: string;
  event: NotificationEvent;
  client_id: string;
  account_id: string;
  environment_id: string | null;
  payload: NotificationPayload;
  created_at: Date;
  attempts: number;
}

/** Queues notifications in the caller's transaction: they exist exactly when the change commits. */
export async function enqueueNotifications(trx: Knex.Transaction, notifications: readonly NewNotification[], now: Date): Promise<void> {
  if (notifications.length === 0) return;
  await trx('notification_outbox').insert(
    notifications.map((notification) => ({
      event: notification.event,
      client_id: notification.clientId,
      account_id: notification.accountId,
      environment_id: notification.environmentId,
      payload: JSON.stringify(notification.payload),
      created_at: now,
      next_attempt_at: now,
    })),
  );
}

/**
 * Takes up to `limit` due notifications for this worker until `leaseUntil`. SKIP
 * LOCKED and the lease keep two processes from taking the same row; a worker that
 * dies leaves its rows to be taken again when the lease ends.
 */
export async function claimDue(db: Knex, now: Date, leaseUntil: Date, limit: number): Promise<OutboxRow[]> {
  const result = await db.raw<{ rows: OutboxRow[] }>(
    `update notification_outbox set locked_until = ?, attempts = attempts + 1
      where id in (select id from notification_outbox
                    where delivered_at is null and failed_at is null and next_attempt_at <= ?
                      and (locked_until is null or locked_until <= ?)
                    order by id limit ? for update skip locked)
      returning id, event, client_id, account_id, environment_id, payload, created_at, attempts`,
    [leaseUntil, now, now, limit],
  );
  // UPDATE ... RETURNING keeps no order: oldest first, as the changes happened.
  return result.rows.sort((a, b) => Number(a.id) - Number(b.id));
}

export async function markDelivered(db: Knex, id: string, now: Date): Promise<void> {
  await db('notification_outbox').where({ id }).update({ delivered_at: now, locked_until: null, last_error: null });
}

/** A failed attempt: try again at `retryAt`, or never (`retryAt` undefined). */
export async function markAttemptFailed(db: Knex, id: string, error: string, now: Date, retryAt: Date | undefined): Promise<void> {
  await db('notification_outbox')
    .where({ id })
    .update({ locked_until: null, last_error: error.slice(0, 500), ...(retryAt ? { next_attempt_at: retryAt } : { failed_at: now }) });
}

/** The admins of an environment and of its account (or of the account alone), by email. */
export function adminEmails(db: Knex, accountId: string, environmentId: string | null): Promise<string[]> {
  return adminEmailsOf(db, accountId, environmentId);
}

/** Names for a message: the account, the environment and the actor. */
export async function namesFor(db: Knex, row: OutboxRow): Promise<{ account: string | undefined; environment: string | undefined; actor: string | undefined }> {
  const account = await findAccount(db, row.account_id);
  const environment = row.environment_id === null ? undefined : await findEnvironment(db, row.environment_id);
  const actor = row.payload.actorId === null ? undefined : await findUser(db, row.payload.actorId);
  return { account: account?.name, environment: environment?.name, actor: actor && (actor.name ? `${actor.name} <${actor.email}>` : actor.email) };
}

/** Whether a notification of `event` about the keypair was queued after `since` (delivered or not). */
export async function notifiedSince(db: Knex, clientId: string, event: NotificationEvent, since: Date): Promise<boolean> {
  const row = await db('notification_outbox').where({ client_id: clientId, event }).where('created_at', '>', since).first('id');
  return row !== undefined;
}

/** Removes delivered and abandoned notifications older than `before`. */
export async function deleteSettledBefore(db: Knex, before: Date): Promise<number> {
  return db('notification_outbox')
    .where((query) => void query.whereNotNull('delivered_at').orWhereNotNull('failed_at'))
    .where('created_at', '<', before)
    .delete();
}
