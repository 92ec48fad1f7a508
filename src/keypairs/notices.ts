import type { Knex } from 'knex';
import type { Actor } from '../audit/store.js';
import { enqueueNotifications, type NotificationEvent, type NotificationPayload } from '../notifications/store.js';

/** Queues a notification to the keypair's admins in the change's transaction. */
export async function notifyAdmins(
  trx: Knex.Transaction,
  event: NotificationEvent,
  keypair: { clientId: string; name: string; accountId: string; environmentId: string | null },
  actor: Actor,
  now: Date,
  details: Partial<NotificationPayload>,
): Promise<void> {
  const payload: NotificationPayload = { name: keypair.name, actorType: actor.type, actorId: actor.id, at: now.toISOString(), ...details };
  await enqueueNotifications(trx, [{ event, clientId: keypair.clientId, accountId: keypair.accountId, environmentId: keypair.environmentId, payload }], now);
}

/** created_by and disabled_by record who acted: a user id, or "system". */
export function actorLabel(actor: Actor): string {
  return actor.id ?? actor.type;
}
