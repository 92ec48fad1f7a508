import { randomBytes } from 'node:crypto';
import type { Keypair } from '../keypairs/store.js';
import type { Clock } from '../shared/clock.js';

/** How long a new secret waits for its one view: 300 (seconds). */
export const SECRET_VIEW_TTL_SECONDS = 300;
/** Most secrets waiting at once in one process: 1000 (the oldest goes first beyond it). */
const MAX_WAITING = 1000;

export interface SecretView {
  readonly keypair: Keypair;
  readonly clientSecret: string;
  /** What happened, for the page's heading: created or rotated, and how. */
  readonly title: string;
  readonly verb: string;
}

interface Waiting extends SecretView {
  readonly session: string;
  readonly expiresAt: number;
}

/**
 * New secrets between the console's POST (create, rotate) and the GET it redirects to,
 * so the secret is shown by a page a reload cannot re-submit, and shown once. Each is
 * kept in this process's memory only (never in the database), under a random id, bound
 * to the session that made it, for at most SECRET_VIEW_TTL_SECONDS; taking it removes it.
 */
export class SecretViews {
  readonly #waiting = new Map<string, Waiting>();

  constructor(private readonly clock: Clock) {}

  /** Keeps `view` for `session`; returns the id its page is reached by. */
  put(session: string, view: SecretView): string {
    const now = this.clock.now().getTime();
    for (const [id, waiting] of this.#waiting) {
      if (waiting.expiresAt <= now || this.#waiting.size >= MAX_WAITING) this.#waiting.delete(id);
    }
    const id = randomBytes(16).toString('base64url');
    this.#waiting.set(id, { ...view, session, expiresAt: now + SECRET_VIEW_TTL_SECONDS * 1000 });
    return id;
  }

  /** The view of `clientId`'s secret, once, to the session that made it; undefined when shown, expired or another's. */
  take(session: string, id: string, clientId: string): SecretView | undefined {
    const waiting = this.#waiting.get(id);
    if (!waiting || waiting.session !== session || waiting.keypair.clientId !== clientId) return undefined;
    this.#waiting.delete(id);
    if (waiting.expiresAt <= this.clock.now().getTime()) return undefined;
    const { session: _session, expiresAt: _expiresAt, ...view } = waiting;
    return view;
  }
}
