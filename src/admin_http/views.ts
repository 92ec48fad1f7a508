import type { AuditEventView } from '../audit/query.js';
import type { Keypair } from '../keypairs/store.js';
import type { ResourceServer } from '../resource_servers/store.js';
import { validationFailed } from '../shared/errors.js';
import type { UsageSummary } from '../usage/report.js';
import type { UsageWindowCounts } from '../usage/store.js';
import type { Account, Environment, Membership, User } from '../tenancy/service.js';
import type { AuditEventView as AuditEventViewBody, KeypairUsageView } from '../contract/activity.js';
import type { KeypairView } from '../contract/keypairs.js';
import type { ResourceServerView } from '../contract/resource_servers.js';
import type { AccountView, EnvironmentView, MembershipView, UserView } from '../contract/tenancy.js';
import { inDateTimeRange, unstorableText } from '../contract/text.js';

function iso(date: Date): string;
function iso(date: Date | null): string | null;
function iso(date: Date | null): string | null {
  return date === null ? null : date.toISOString();
}

/** A keypair as the admin API shows it: never a secret, only its hint. */
export function keypairView(keypair: Keypair): KeypairView {
  return {
    clientId: keypair.clientId,
    name: keypair.name,
    comment: keypair.comment,
    scopes: [...keypair.scopes],
    grants: keypair.grants.map((grant) => ({ resourceServer: grant.resourceServer, scopes: [...grant.scopes] })),
    enabled: keypair.enabled,
    disabledReason: keypair.disabledReason,
    disabledAt: iso(keypair.disabledAt),
    secretHint: keypair.secretHint,
    credentialType: keypair.credentialType,
    publicKeys: keypair.publicKeys.map((key) => ({ thumbprint: key.thumbprint, jwk: { ...key.jwk }, addedAt: key.addedAt })),
    federation: keypair.federation && { issuer: keypair.federation.issuer, subject: keypair.federation.subject, claims: { ...keypair.federation.claims } },
    requireDpop: keypair.requireDpop,
    lastUsedAt: iso(keypair.lastUsedAt),
    expiresAt: iso(keypair.expiresAt),
    rateLimitPerMinute: keypair.rateLimitPerMinute,
    allowedIps: [...keypair.allowedIps],
    autoDisable: keypair.autoDisable,
    accountId: keypair.accountId,
    environmentId: keypair.environmentId,
    createdBy: keypair.createdBy,
    createdAt: iso(keypair.createdAt),
    updatedAt: iso(keypair.updatedAt),
    version: keypair.version,
  };
}

const windowCounts = (counts: UsageWindowCounts) => ({
  last24h: { issued: counts.issued24h, refused: counts.refused24h },
  last7d: { issued: counts.issued7d, refused: counts.refused7d },
});

/** A keypair's usage: totals, breakdowns, the hourly series and the last requests. */
export function usageView(clientId: string, summary: UsageSummary): KeypairUsageView {
  return {
    clientId,
    generatedAt: summary.generatedAt.toISOString(),
    last24h: summary.last24h,
    last7d: summary.last7d,
    refusalsByReason: summary.refusals.map((counts) => ({ reason: counts.key, last24h: counts.refused24h, last7d: counts.refused7d })),
    topResources: summary.resources.map((counts) => ({ resource: counts.key, ...windowCounts(counts) })),
    topScopes: summary.scopes.map((counts) => ({ scope: counts.key, ...windowCounts(counts) })),
    hourly: summary.hourly.map((hour) => ({ hour: hour.hour.toISOString(), issued: hour.issued, refused: hour.refused })),
    recentRequests: summary.recent.map((record) => ({
      at: record.at.toISOString(),
      outcome: record.outcome,
      error: record.error,
      reason: record.reason,
      ip: record.ip,
      userAgent: record.userAgent,
      scope: record.scope,
      resource: record.resource,
    })),
  };
}

export const accountView = (account: Account): AccountView => ({ id: account.id, name: account.name, status: account.status, createdAt: iso(account.createdAt), updatedAt: iso(account.updatedAt) });

export const environmentView = (environment: Environment): EnvironmentView => ({ ...accountView(environment), accountId: environment.accountId });

export const userView = (user: User): UserView => ({ id: user.id, email: user.email, name: user.name, isOperator: user.isOperator, createdAt: iso(user.createdAt), updatedAt: iso(user.updatedAt) });

export const membershipView = (membership: Membership): MembershipView => ({ role: membership.role, accountId: membership.accountId, environmentId: membership.environmentId, createdAt: iso(membership.createdAt) });

/**
 * `reader` is the accounts a non-operator administers (undefined: an operator). A
 * server limited to named accounts shows such a reader only its own among them: the
 * others are other tenants' ids, and that they share a server is theirs to know.
 */
export const resourceServerView = (server: ResourceServer, reader?: ReadonlySet<string>): ResourceServerView => ({
  id: server.id,
  identifier: server.identifier,
  name: server.name,
  scopes: [...server.scopes],
  accessTokenTtl: server.accessTokenTtl,
  isDefault: server.isDefault,
  availableTo: server.availableTo === null ? null : reader === undefined ? [...server.availableTo] : server.availableTo.filter((accountId) => reader.has(accountId)),
});

export const eventView = ({ seq: _seq, ...event }: AuditEventView): AuditEventViewBody => ({ ...event, at: event.at.toISOString() }) as AuditEventViewBody;

/** Cursors are opaque to clients: base64url of the sort key of the last item. */
export function encodeCursor(parts: readonly string[]): string {
  return Buffer.from(JSON.stringify(parts)).toString('base64url');
}

const NOT_A_CURSOR = () => validationFailed([{ field: 'cursor', message: 'is not a cursor this API returned' }]);
/** Longest part of a cursor: the sort keys are ISO dates, ids and sequence numbers. */
const MAX_CURSOR_PART = 100;

/**
 * The parts of a cursor, each a string text can hold (no NUL, no unpaired surrogate),
 * or a 400 naming `cursor`: a crafted cursor must not reach a query.
 */
export function decodeCursor(cursor: string | undefined, length: number): string[] | undefined {
  if (cursor === undefined) return undefined;
  let parts: unknown;
  try {
    parts = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw NOT_A_CURSOR();
  }
  if (Array.isArray(parts) && parts.length === length && parts.every((part) => typeof part === 'string' && part.length <= MAX_CURSOR_PART && unstorableText(part) === undefined)) return parts as string[];
  throw NOT_A_CURSOR();
}

/** A cursor's date, exactly as encodeCursor wrote it (toISOString) and in the API's range. */
export function cursorDate(raw: string): Date {
  const date = new Date(raw);
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(raw) || Number.isNaN(date.getTime()) || date.toISOString() !== raw || !inDateTimeRange(date)) throw NOT_A_CURSOR();
  return date;
}

/** A history cursor's sequence number: a non-negative whole number, as encodeCursor wrote it. */
export function cursorSeq(raw: string): number {
  const seq = /^\d{1,15}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(seq)) throw NOT_A_CURSOR();
  return seq;
}
