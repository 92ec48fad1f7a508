import type { Knex } from 'knex';
import type { Clock } from '../shared/clock.js';
import type { Logger } from '../shared/log.js';
import { adminEmails, claimDue, markAttemptFailed, markDelivered, namesFor, type OutboxRow } from './store.js';
import type { Message, Transport } from './transport.js';

/** How often the worker looks for due notifications: 5000 (ms). */
const POLL_MS = 5000;
/** Notifications one poll takes: 20. */
const BATCH = 20;
/** How long a claimed notification is this worker's before another may take it: 120 (seconds). */
const LEASE_SECONDS = 120;
/** Attempts before a notification is abandoned (with its last error kept): 10, over about 8.5 hours. */
export const MAX_ATTEMPTS = 10;
/** Wait after the n-th failed attempt: 30 s doubled each time, at most 4 hours. */
export function retryDelaySeconds(attempts: number): number {
  return Math.min(30 * 2 ** (attempts - 1), 4 * 3600);
}

/**
 * Delivers the outbox: each due notification goes to the admins of its keypair's
 * environment and account. A failure is retried with backoff; a success is never
 * sent again. With several processes each row is claimed by one of them.
 */
export class NotificationWorker {
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<number> = Promise.resolve(0);

  constructor(
    private readonly deps: { readonly db: Knex; readonly transport: Transport; readonly clock: Clock; readonly log: Logger; readonly issuer: string },
  ) {}

  start(): void {
    this.#timer = setInterval(() => void this.deliverDue(), POLL_MS);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#running;
    this.deps.transport.close();
  }

  /** Delivers what is due now; resolves with how many were delivered. */
  deliverDue(): Promise<number> {
    this.#running = this.#running.then(() => this.#deliverDue()).catch((error: Error) => {
      this.deps.log.error('notification delivery failed', { error: error.message });
      return 0;
    });
    return this.#running;
  }

  async #deliverDue(): Promise<number> {
    const { db, clock } = this.deps;
    const now = clock.now();
    const due = await claimDue(db, now, new Date(now.getTime() + LEASE_SECONDS * 1000), BATCH);
    let delivered = 0;
    for (const row of due) {
      try {
        const message = await this.#messageFor(row);
        if (message) await this.deps.transport.send(message);
        else this.deps.log.info('notification has no recipients', { event: row.event, clientId: row.client_id });
        await markDelivered(db, row.id, clock.now());
        delivered += 1;
      } catch (error) {
        const reason = (error as Error).message;
        const retryAt = row.attempts < MAX_ATTEMPTS ? new Date(clock.now().getTime() + retryDelaySeconds(row.attempts) * 1000) : undefined;
        await markAttemptFailed(db, row.id, reason, clock.now(), retryAt);
        this.deps.log.warn('notification not delivered', { event: row.event, clientId: row.client_id, attempts: row.attempts, retryAt: retryAt?.toISOString() ?? 'never', error: reason });
      }
    }
    return delivered;
  }

  async #messageFor(row: OutboxRow): Promise<Message | undefined> {
    const to = await adminEmails(this.deps.db, row.account_id, row.environment_id);
    if (to.length === 0) return undefined;
    const names = await namesFor(this.deps.db, row);
    return { to, ...renderMessage(row, names, this.deps.issuer) };
  }
}

const SUBJECTS: Record<OutboxRow['event'], string> = {
  'keypair.created': 'created',
  'keypair.rotated': 'had its secret rotated',
  'keypair.disabled': 'disabled',
  'keypair.deleted': 'deleted',
  'keypair.expiring': 'expires soon',
  'keypair.retired_secret_used': 'is still used with a retired secret',
};

/** How a keyless keypair's client proves itself, so that an admin reading a created notice knows what was trusted. */
function credentialLines(payload: OutboxRow['payload']): string[] {
  if (payload.credentialType === 'public_key') return [`Authenticates with private_key_jwt, signed by a key with thumbprint ${(payload.thumbprints ?? []).join(' or ')}`];
  if (payload.credentialType === 'federated' && payload.federation) {
    const claims = Object.entries(payload.federation.claims).map(([name, value]) => `, ${name} = ${value}`).join('');
    return [`Authenticates with tokens from the trusted issuer ${payload.federation.issuer}, subject ${payload.federation.subject}${claims}`];
  }
  return [];
}

/** Subject and plain-text body. Built from the payload, which never holds a secret. */
export function renderMessage(row: OutboxRow, names: { account: string | undefined; environment: string | undefined; actor: string | undefined }, issuer: string): { subject: string; text: string } {
  const { payload } = row;
  const automatic = row.event === 'keypair.disabled' && payload.actorType === 'system';
  const subject = `[Keygate] Keypair "${payload.name}" ${automatic ? 'disabled automatically' : SUBJECTS[row.event]}`;
  const where = names.environment ? `environment "${names.environment}" of account "${names.account ?? row.account_id}"` : `account "${names.account ?? row.account_id}"`;
  const by = payload.actorType === 'system' ? 'Keygate' : (names.actor ?? payload.actorId ?? payload.actorType);
  const lines = [
    row.event === 'keypair.expiring'
      ? `The keypair "${payload.name}" (${row.client_id}) in ${where} expires at ${payload.expiresAt}. After that, token requests with it are refused; create a new keypair before then if it is still needed.`
      : row.event === 'keypair.retired_secret_used'
      ? `Token requests for the keypair "${payload.name}" (${row.client_id}) in ${where} still present a secret that a rotation retired (the last at ${payload.at}). Keygate refuses them; the current secret keeps working and the keypair stays enabled. Give the client at these addresses the current secret, or find out who else holds the old one:\n${(payload.addresses ?? []).map((address) => `  ${address}`).join('\n')}\nKeygate sends this notice at most once a day per keypair.`
      : `The keypair "${payload.name}" (${row.client_id}) in ${where} was ${automatic ? 'disabled automatically' : SUBJECTS[row.event]} by ${by} at ${payload.at}.`,
    ...(payload.reason ? [`Reason: ${payload.reason}`] : []),
    ...(payload.gracePeriodSeconds !== undefined ? [`The previous secret works for ${payload.gracePeriodSeconds} more seconds.`] : []),
    ...(payload.scopes ? [`Scopes: ${payload.scopes.join(' ') || '(none)'}`] : []),
    ...(payload.secretHint ? [`Secret: ${payload.secretHint} (the secret itself is never sent)`] : []),
    ...credentialLines(payload),
    '',
    `If you did not expect this, review the keypair's history: ${issuer}/admin/v1/keypairs/${row.client_id}/events`,
  ];
  return { subject, text: lines.join('\n') };
}
