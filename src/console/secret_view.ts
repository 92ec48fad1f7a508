import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import type { Clock } from '../shared/clock.js';

/** How long a new secret waits for its one view: 300 (seconds). */
export const SECRET_VIEW_TTL_SECONDS = 300;

export interface SecretView {
  readonly clientId: string;
  readonly clientSecret: string;
  /** What happened, for the page's heading: created or rotated, and how. */
  readonly title: string;
  readonly verb: string;
}

interface Sealed {
  readonly clientSecret: string;
  readonly title: string;
  readonly verb: string;
}

const sha256 = (value: string) => createHash('sha256').update(value).digest();

/**
 * The view's AES-256-GCM key: HKDF-SHA256 of the session cookie's value (which the
 * database holds only as its SHA-256), salted with the view's id, so a row cannot be
 * read without the browser's cookie.
 */
function keyOf(cookie: string, id: string): Buffer {
  return Buffer.from(hkdfSync('sha256', cookie, id, 'keygate console secret view', 32));
}

/** The id and session a ciphertext belongs to, authenticated with it: a row moved to another id or session does not open. */
const additionalData = (id: string, sessionId: Buffer) => Buffer.concat([Buffer.from(`${id}\0`), sessionId]);

/**
 * New secrets between the console's POST (create, rotate) and the GET it redirects to,
 * so the secret is shown by a page a reload cannot re-submit, and shown once. Each
 * waits in the database (so any process serves the GET), encrypted under the session
 * cookie (so the database alone cannot read it), under a random id, bound to the
 * session that made it, for at most SECRET_VIEW_TTL_SECONDS; taking it deletes it.
 */
export class SecretViews {
  constructor(private readonly deps: { readonly db: Knex; readonly clock: Clock }) {}

  /** Keeps `view` for the session of `cookie`; returns the id its page is reached by. */
  async put(cookie: string, view: SecretView): Promise<string> {
    const now = this.deps.clock.now();
    const id = randomBytes(16).toString('base64url');
    const sessionId = sha256(cookie);
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', keyOf(cookie, id), iv);
    cipher.setAAD(additionalData(id, sessionId));
    const sealed: Sealed = { clientSecret: view.clientSecret, title: view.title, verb: view.verb };
    const ciphertext = Buffer.concat([cipher.update(JSON.stringify(sealed), 'utf8'), cipher.final()]);
    await this.deps.db('console_secret_views').where('expires_at', '<=', now).delete();
    await this.deps.db('console_secret_views').insert({
      id,
      session_id: sessionId,
      client_id: view.clientId,
      ciphertext,
      iv,
      tag: cipher.getAuthTag(),
      expires_at: new Date(now.getTime() + SECRET_VIEW_TTL_SECONDS * 1000),
    });
    return id;
  }

  /**
   * The view of `clientId`'s secret, once, to the session of `cookie`; undefined when
   * shown, expired or another's. The delete that returns it is the one-time step, so
   * of two processes taking it at once only one gets it.
   */
  async take(cookie: string, id: string, clientId: string): Promise<SecretView | undefined> {
    if (!/^[\w-]{22}$/.test(id)) return undefined;
    const now = this.deps.clock.now();
    const sessionId = sha256(cookie);
    const [row] = await this.deps.db('console_secret_views')
      .where({ id, session_id: sessionId, client_id: clientId })
      .where('expires_at', '>', now)
      .delete()
      .returning<Array<{ ciphertext: Buffer; iv: Buffer; tag: Buffer }>>(['ciphertext', 'iv', 'tag']);
    await this.deps.db('console_secret_views').where('expires_at', '<=', now).delete();
    if (!row) return undefined;
    try {
      const decipher = createDecipheriv('aes-256-gcm', keyOf(cookie, id), row.iv);
      decipher.setAAD(additionalData(id, sessionId));
      decipher.setAuthTag(row.tag);
      const sealed = JSON.parse(Buffer.concat([decipher.update(row.ciphertext), decipher.final()]).toString('utf8')) as Sealed;
      return { clientId, ...sealed };
    } catch {
      return undefined;
    }
  }
}
