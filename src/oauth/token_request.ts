import type { IncomingMessage } from 'node:http';
import { decodeJwt } from 'jose';
import type { Context, Next } from 'koa';
import Provider, { type KoaContextWithOIDC } from 'oidc-provider';
import { isDatabaseUnavailable } from '../db/database.js';
import type { LastUsedRecorder } from '../keypairs/last_used.js';
import { digestsEqual, hashSecret, isWellFormedSecret } from '../keypairs/secret.js';
import type { KeypairCredentials } from '../keypairs/store.js';
import type { Metrics } from '../ops/metrics.js';
import type { ResourceServerCatalog } from '../resource_servers/catalog.js';
import { isAvailableTo, type ResourceServer } from '../resource_servers/store.js';
import { clientAddress } from '../shared/client_address.js';
import type { Clock } from '../shared/clock.js';
import type { Logger } from '../shared/log.js';
import { statusReference } from '../status/status_list.js';
import type { UsageRecorder } from '../usage/recorder.js';
import { ClientAssertions, JWT_BEARER } from './client_assertion.js';
import { ClientCache } from './clients.js';
import { DatabaseUnavailable, DpopReplayed, DpopRequired, InvalidClient, InvalidScope, InvalidTarget, renderOAuthError, TokenRefusal } from './errors.js';
import type { TokenGuards } from './guards.js';

type ProviderClient = InstanceType<Provider['Client']>;

/** What one token request has established so far; each step adds to it, in order. */
interface TokenRequestState {
  /** The client's address (see shared/client_address.ts). */
  readonly ip: string | undefined;
  /** The keypair the request named, once found (enabled or not). */
  keypair?: KeypairCredentials;
  /** It presented a live secret of that keypair (current, or still in its grace period). */
  credentialed: boolean;
  /** Status-list index of the secret that authenticated it. */
  statusIdx?: number;
  /** The client_assertion it authenticates with instead of a secret (see acceptClientAssertion). */
  assertion?: string;
  /** Keygate's refusal, once oidc-provider has reported it: what the response says. */
  refusal?: TokenRefusal;
}

export interface TokenRequestDeps {
  readonly clients: ClientCache;
  readonly assertions: ClientAssertions;
  readonly guards: TokenGuards;
  readonly catalog: ResourceServerCatalog;
  readonly lastUsed: LastUsedRecorder;
  /** The usage log; undefined with USAGE_LOG=off. */
  readonly usage: UsageRecorder | undefined;
  readonly metrics: Metrics;
  readonly clock: Clock;
  readonly log: Logger;
  readonly issuer: string;
  readonly trustProxyHops: number;
  /** The id the HTTP app gave a request, for log lines. */
  readonly requestIdOf: (req: IncomingMessage) => string | undefined;
}

/**
 * The token request (client-credentials grant), as one pipeline. oidc-provider runs
 * the protocol (parsing, client authentication, the grant, signing); Keygate's rules
 * are these steps, which its hooks call in this order (see provider.ts):
 *
 *   0. acceptClientAssertion  the parsed body: a client assertion is set aside for step 2
 *   1. findKeypair      Client.find: the keypair, refused if disabled or expired
 *   2. checkCredential  Client#compareClientSecret: the secret against live digests,
 *                       or the client assertion against the keypair's keys or issuer
 *   3. guards           from step 2, once the secret is right: IP allowlist, rate limit
 *   4. grant, claims    getResourceServerInfo, extraTokenClaims: resource, scopes, claims
 *   5. record           grant.success / grant.error / server_error: usage log, last
 *                       used, metrics (the usage log feeds auto-disable and the
 *                       retired-secret notice after each batch)
 *   6. respond          a Keygate refusal is written by renderOAuthError
 *
 * A refusal is a typed error (errors.ts) thrown by the step that makes it. The state
 * lives in a WeakMap keyed by the request's Koa context: hooks that are not handed it
 * find it through oidc-provider's own AsyncLocalStorage (Provider.ctx), which its token
 * route enters anyway, so the hot path runs no second one.
 */
export class TokenRequests {
  readonly #states = new WeakMap<Context, TokenRequestState>();

  constructor(private readonly deps: TokenRequestDeps) {}

  /** 1. The keypair the request names. A disabled or expired one is refused here, before its secret is looked at. */
  async findKeypair(ctx: Context, provider: Provider, clientId: string): Promise<ProviderClient | undefined> {
    let found;
    try {
      found = await this.deps.clients.find(provider, clientId);
    } catch (error) {
      throw isDatabaseUnavailable(error) ? new DatabaseUnavailable(error) : error;
    }
    // No such keypair: oidc-provider answers invalid_client, and no keypair's usage records it.
    if (!found) return undefined;
    this.#stateOf(ctx).keypair = found.credentials;
    this.deps.guards.usable(found.credentials);
    return found.client;
  }

  /**
   * 0. The token request's parsed body, as oidc-provider sets it. A client assertion
   * (private_key_jwt, or a federated keypair's platform token) is Keygate's to check,
   * not oidc-provider's: oidc-provider would take the client_id from the assertion's
   * `sub` (a platform token's `sub` is its workload, not the keypair) and check it
   * against a per-client key set and replay store it does not have. So the assertion
   * is kept in this request's state, and the body oidc-provider reads names the keypair
   * with a placeholder secret: its secret path leads to checkCredential (step 2), which
   * checks the assertion kept here. A request that also sends a secret or a Basic
   * header is left as it is, for oidc-provider to refuse (one mechanism only).
   */
  acceptClientAssertion(ctx: Context, body: Record<string, unknown>): Record<string, unknown> {
    // Every secret keypair's request passes here: it leaves at the first test.
    if (body.client_assertion_type !== JWT_BEARER) return body;
    const { client_assertion: assertion, client_assertion_type: _type, client_id: clientId, ...rest } = body;
    if (typeof assertion !== 'string' || body.client_secret !== undefined || ctx.get('authorization') !== '') return body;
    // RFC 7523 lets a private_key_jwt client leave client_id out: its assertion's sub is the client_id.
    const keypair = clientId === undefined ? unverifiedSubject(assertion) : clientId;
    if (typeof keypair !== 'string') return body;
    this.#stateOf(ctx).assertion = assertion;
    return { ...rest, client_id: keypair, client_secret: ASSERTION_PLACEHOLDER };
  }

  /** 2. The presented secret (or client assertion), against the keypair's live credentials; then 3, its guards. */
  checkCredential(ctx: Context, client: ProviderClient, presented: string): true | Promise<true> {
    const state = this.#stateOf(ctx);
    const credentials = ClientCache.credentialsOf(client);
    if (credentials && state.assertion !== undefined) return this.#checkAssertion(state, credentials, state.assertion);
    if (credentials && credentials.credentialType !== 'secret') throw new InvalidClient('secret_not_accepted');
    // The checksum rejects typos and foreign secrets before any hashing.
    if (!credentials || !isWellFormedSecret(presented)) throw new InvalidClient('secret_mismatch');
    const match = matchSecret(credentials, presented, this.deps.clock.now().getTime());
    // A retired secret is not a credential: its refusals count like a guess's (see usage/auto_disable.ts).
    if (match.statusIdx === undefined) throw new InvalidClient(match.retired ? 'secret_retired' : 'secret_mismatch');
    state.credentialed = true;
    this.deps.guards.admit(credentials, state.ip);
    state.statusIdx = match.statusIdx;
    return true;
  }

  async #checkAssertion(state: TokenRequestState, credentials: KeypairCredentials, assertion: string): Promise<true> {
    if (credentials.credentialType === 'secret') throw new InvalidClient('assertion_not_accepted');
    try {
      await this.deps.assertions.verify(credentials, assertion);
    } catch (error) {
      // A refusal stays what it is: an unreachable issuer's connection error is not the database's.
      throw !(error instanceof TokenRefusal) && isDatabaseUnavailable(error) ? new DatabaseUnavailable(error) : error;
    }
    state.credentialed = true;
    this.deps.guards.admit(credentials, state.ip);
    // Its one secrets row, whose digest nobody holds, carries its status-list index.
    state.statusIdx = credentials.secrets.find((secret) => secret.expiresAt === null)?.statusIdx;
    return true;
  }

  /**
   * 4. The resource server the token is for, once the requested scopes are known to be
   * held there. oidc-provider would drop unknown scopes silently and grant no scope when
   * none is asked for; Keygate's contract refuses the first and grants every scope the
   * keypair holds there for the second.
   */
  grant(ctx: KoaContextWithOIDC, resourceIndicator: string, client: ProviderClient): ResourceServer {
    const server = this.deps.catalog.byIdentifier(resourceIndicator);
    const credentials = ClientCache.credentialsOf(client);
    // A server limited to other accounts reads, to this keypair, as one that does not exist.
    if (!server || !credentials || !isAvailableTo(server, credentials.accountId)) throw new InvalidTarget('unknown resource server');
    // Only what is granted at this server, and still in its catalogue: scopes are per resource server.
    const catalogue = new Set(server.scopes.map((scope) => scope.name));
    const held = (credentials.grants.get(server.id) ?? []).filter((scope) => catalogue.has(scope));
    if (held.length === 0) throw new InvalidTarget('the keypair has no grant at this resource server');
    // oidc-provider has checked any DPoP proof by now (the grant reads it first); none at all is Keygate's refusal.
    if (credentials.requireDpop && !ctx.get('dpop')) throw new DpopRequired();

    const requested = requestedScopes(ctx);
    const refused = requested.find((scope) => !held.includes(scope));
    if (refused !== undefined) throw new InvalidScope(refused);
    if (requested.length === 0) ctx.oidc.params!.scope = held.join(' ');
    return server;
  }

  /** 4. The token's own claims: who owns the keypair, and the status-list entry of the secret that authenticated. */
  claims(ctx: KoaContextWithOIDC): Record<string, unknown> | undefined {
    const credentials = ClientCache.credentialsOf(ctx.oidc.client);
    if (!credentials) return undefined;
    const statusIdx = this.#states.get(ctx)?.statusIdx;
    return {
      account_id: credentials.accountId,
      ...(credentials.environmentId !== null && { environment_id: credentials.environmentId }),
      ...(statusIdx !== undefined && { status: { status_list: statusReference(this.deps.issuer, statusIdx) } }),
    };
  }

  /** 5. oidc-provider's events about token requests: the one place they are handled. */
  listenTo(provider: Provider): void {
    provider.on('grant.success', (ctx: KoaContextWithOIDC) => this.#recordIssued(ctx));
    provider.on('grant.error', (ctx: KoaContextWithOIDC, error: { error?: string }) => this.#recordRefused(ctx, error));
    provider.on('server_error', (ctx: KoaContextWithOIDC, error: Error) => this.#recordFailure(ctx, error));
  }

  #recordIssued(ctx: KoaContextWithOIDC): void {
    const clientId = ctx.oidc.client?.clientId;
    if (clientId) this.deps.lastUsed.record(clientId, this.deps.clock.now());
    this.deps.metrics.tokensIssued.inc({ resource: this.#resourceLabel(ctx) });
    this.#recordUsage(ctx, undefined);
  }

  #recordRefused(ctx: KoaContextWithOIDC, reported: { error?: string; error_detail?: string }): void {
    const error = reported.error_detail === DPOP_REPLAY_DETECTED ? new DpopReplayed() : reported;
    // Kept for step 6: oidc-provider's handler, which caught it, has answered in its own way.
    if (error instanceof TokenRefusal) this.#stateOf(ctx).refusal = error;
    this.deps.metrics.tokensRefused.inc({ error: error.error ?? 'server_error', resource: this.#resourceLabel(ctx) });
    this.#recordUsage(ctx, error);
  }

  /** A 500: oidc-provider answers `server_error` without detail; the log has it. */
  #recordFailure(ctx: KoaContextWithOIDC, error: Error): void {
    this.deps.log.error('token endpoint error', { requestId: this.deps.requestIdOf(ctx.req), error: error.message });
  }

  /**
   * 6. Koa middleware on oidc-provider (provider.use), around its routes: oidc-provider
   * answers every error first, then a Keygate refusal is answered as renderOAuthError
   * writes it (with its Retry-After).
   */
  readonly respond = async (ctx: Context, next: Next): Promise<void> => {
    await next();
    const refusal = this.#states.get(ctx)?.refusal;
    if (refusal) renderOAuthError(ctx, refusal);
  };

  #stateOf(ctx: Context): TokenRequestState {
    let state = this.#states.get(ctx);
    if (!state) this.#states.set(ctx, (state = { ip: clientAddress(ctx.req, this.deps.trustProxyHops), credentialed: false }));
    return state;
  }

  /** One usage record for a request that named a known keypair; `error` undefined when issued. */
  #recordUsage(ctx: KoaContextWithOIDC, error: { error?: string } | undefined): void {
    const state = this.#states.get(ctx);
    if (!this.deps.usage || !state?.keypair) return;
    const code = error === undefined ? null : (error.error ?? 'server_error');
    const params = ctx.oidc?.params;
    this.deps.usage.record({
      at: this.deps.clock.now(),
      clientId: state.keypair.clientId,
      outcome: error === undefined ? 'issued' : 'refused',
      error: code,
      reason: error instanceof TokenRefusal ? error.reason : code,
      credentialed: error === undefined || state.credentialed,
      // For an issued token that asked for no scope, the scopes it was given.
      scope: recorded(params?.scope),
      resource: recorded(params?.resource) ?? this.deps.catalog.defaultServer?.identifier ?? null,
      ip: state.ip ?? null,
      userAgent: recorded(ctx.get('user-agent')),
    });
  }

  /** A metrics label must not take any value a client sends: unknown resources count as one. */
  #resourceLabel(ctx: KoaContextWithOIDC): string {
    const resource = ctx.oidc?.params?.resource;
    return typeof resource === 'string' && this.deps.catalog.byIdentifier(resource) ? resource : 'unknown';
  }
}

/**
 * How oidc-provider describes a DPoP proof it has seen before, which it answers as
 * invalid_grant: RFC 9449 §5 names invalid_dpop_proof for every DPoP error of a token
 * request, and a client library reacts to that one by making a new proof.
 */
const DPOP_REPLAY_DETECTED = 'DPoP proof JWT Replay detected';

/** The context of the request oidc-provider is serving, for hooks it does not hand one to. */
export function currentContext(): KoaContextWithOIDC {
  // Set by oidc-provider's router around every route (lib/helpers/als.js); not in its typings.
  const ctx = (Provider as unknown as { readonly ctx: KoaContextWithOIDC | undefined }).ctx;
  if (!ctx) throw new Error('a token request hook ran outside a request');
  return ctx;
}

/** Which live secret the presented one is, if any, and whether it is a retired one. */
function matchSecret(credentials: KeypairCredentials, presented: string, now: number): { statusIdx: number | undefined; retired: boolean } {
  const digest = hashSecret(presented);
  let statusIdx: number | undefined;
  let retired = false;
  // Check every digest, not just until the first match, to keep timing flat.
  for (const secret of credentials.secrets) {
    const live = secret.expiresAt === null || secret.expiresAt.getTime() > now;
    if (digestsEqual(secret.sha256, digest)) {
      if (live) statusIdx = secret.statusIdx;
      else retired = true;
    }
  }
  return { statusIdx, retired };
}

/**
 * Stands in for a secret in the body oidc-provider reads once a client assertion was
 * set aside (acceptClientAssertion). Never a secret: checkCredential looks at the
 * assertion in the request's state, and a request that sends this value itself has
 * none there, so it is checked as a secret and fails the checksum.
 */
const ASSERTION_PLACEHOLDER = 'keygate:client-assertion';

/** The `sub` of a JWT, unverified: only to name the keypair to look up. */
function unverifiedSubject(jwt: string): unknown {
  try {
    return (decodeJwt(jwt) as { sub?: unknown }).sub;
  } catch {
    return undefined;
  }
}

function requestedScopes(ctx: KoaContextWithOIDC): string[] {
  const raw = ctx.oidc.params?.scope;
  return typeof raw === 'string' && raw.trim() ? raw.trim().split(/\s+/) : [];
}

/** Longest user agent, scope and resource the usage log keeps: 200 characters (the rest is cut). */
const MAX_RECORDED_LENGTH = 200;

/**
 * A client-sent value as the usage log keeps it: cut to length, and with NUL replaced,
 * which PostgreSQL text cannot hold (one such value would otherwise fail its whole batch).
 */
function recorded(value: unknown): string | null {
  const text = Array.isArray(value) ? value.join(' ') : value;
  return typeof text === 'string' && text !== '' ? text.slice(0, MAX_RECORDED_LENGTH).replaceAll('\u0000', '\uFFFD') : null;
}
