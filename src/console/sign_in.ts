import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createLocalJWKSet, jwtVerify } from 'jose';
import type { Knex } from 'knex';
import { asciiLowerCase } from '../shared/text.js';
import { SIGNING_ALGS, type Config } from '../config/config.js';
import type { Clock } from '../shared/clock.js';
import { publicJwks, type KeySet } from '../signing/keystore.js';
import { signOwnJwt } from '../signing/own_jwt.js';

/** How long a sign-in link works, once: 600 (seconds). */
export const CONSOLE_LINK_TTL_SECONDS = 600;

/** Audience of sign-in links: `<ISSUER>/console`, so no other token of Keygate's passes as one. */
export function consoleAudience(issuer: string): string {
  return `${issuer}/console`;
}

/**
 * A one-time sign-in URL for `email`, as `keygate console-link` prints it. It carries
 * a short JWT signed with Keygate's key (so the CLI needs no database); the console
 * records its `jti` when it is exchanged, so it works once.
 */
export async function mintConsoleLink(config: Pick<Config, 'issuer' | 'tokenSigningAlg'>, keySet: KeySet, email: string, now = Math.floor(Date.now() / 1000)): Promise<string> {
  const token = await signOwnJwt(config, keySet, {
    typ: 'keygate-console-link+jwt',
    audience: consoleAudience(config.issuer),
    claims: { email: asciiLowerCase(email) },
    ttlSeconds: CONSOLE_LINK_TTL_SECONDS,
    jti: randomBytes(16).toString('base64url'),
    now,
  });
  return `${config.issuer}/console/sign-in?token=${token}`;
}

/**
 * Whether a sign-in POST may come from this page (login CSRF: a form on another site
 * must not sign the visitor in to a session of the attacker's). Sec-Fetch-Site, which
 * every current browser sends, decides when present: same-origin or none (typed or
 * bookmarked) pass, same-site and cross-site do not. Without it, an Origin must be
 * ISSUER's origin ("null", which a sandboxed frame sends, is not). A request with
 * neither header comes from no browser that could be led there (curl, a script) and passes.
 */
export function signInOriginAllowed(issuer: string, headers: { secFetchSite: string | undefined; origin: string | undefined }): boolean {
  if (headers.secFetchSite) return headers.secFetchSite === 'same-origin' || headers.secFetchSite === 'none';
  if (headers.origin !== undefined) return headers.origin === new URL(issuer).origin;
  return true;
}

const sha256 = (value: string) => createHash('sha256').update(value).digest();

export interface ConsoleSession {
  readonly userId: string;
  readonly csrfToken: string;
  readonly expiresAt: Date;
}

/** Sign-in links and sessions; sessions live in the database, so any process serves them. */
export class ConsoleSignIn {
  constructor(
    private readonly deps: { readonly db: Knex; readonly issuer: string; readonly keySet: () => KeySet; readonly clock: Clock; readonly sessionTtlSeconds: number },
  ) {}

  /** The email a link was made for, once: undefined when it is forged, expired or used. */
  async redeemLink(token: string): Promise<string | undefined> {
    let payload;
    try {
      ({ payload } = await jwtVerify(token, createLocalJWKSet(publicJwks(this.deps.keySet())), {
        issuer: this.deps.issuer,
        audience: consoleAudience(this.deps.issuer),
        typ: 'keygate-console-link+jwt',
        algorithms: [...SIGNING_ALGS],
        requiredClaims: ['exp', 'jti'],
        currentDate: this.deps.clock.now(),
      }));
    } catch {
      return undefined;
    }
    if (typeof payload.email !== 'string' || typeof payload.jti !== 'string') return undefined;
    const now = this.deps.clock.now();
    const inserted = await this.deps.db('console_link_uses')
      .insert({ jti: payload.jti, used_at: now, expires_at: new Date(payload.exp! * 1000) })
      .onConflict('jti')
      .ignore()
      .returning('jti');
    await this.deps.db('console_link_uses').where('expires_at', '<', now).delete();
    return inserted.length === 1 ? payload.email : undefined;
  }

  /** A new session: the cookie value (returned once, stored as its SHA-256) and its CSRF token. */
  async startSession(userId: string): Promise<{ cookie: string; session: ConsoleSession }> {
    const cookie = randomBytes(32).toString('base64url');
    const now = this.deps.clock.now();
    const session = { userId, csrfToken: randomBytes(24).toString('base64url'), expiresAt: new Date(now.getTime() + this.deps.sessionTtlSeconds * 1000) };
    await this.deps.db('console_sessions').insert({ id_sha256: sha256(cookie), user_id: userId, csrf_token: session.csrfToken, created_at: now, expires_at: session.expiresAt });
    await this.deps.db('console_sessions').where('expires_at', '<', now).delete();
    return { cookie, session };
  }

  async findSession(cookie: string | undefined): Promise<ConsoleSession | undefined> {
    if (!cookie || !/^[\w-]{43}$/.test(cookie)) return undefined;
    const row = await this.deps.db('console_sessions')
      .where({ id_sha256: sha256(cookie) })
      .where('expires_at', '>', this.deps.clock.now())
      .first<{ user_id: string; csrf_token: string; expires_at: Date } | undefined>('user_id', 'csrf_token', 'expires_at');
    return row && { userId: row.user_id, csrfToken: row.csrf_token, expiresAt: row.expires_at };
  }

  async endSession(cookie: string | undefined): Promise<void> {
    if (cookie && /^[\w-]{43}$/.test(cookie)) await this.deps.db('console_sessions').where({ id_sha256: sha256(cookie) }).delete();
  }
}

/** Compares a form's CSRF token with the session's in constant time. */
export function csrfMatches(session: ConsoleSession, presented: string | undefined): boolean {
  if (typeof presented !== 'string') return false;
  const expected = Buffer.from(session.csrfToken);
  const given = Buffer.from(presented);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
