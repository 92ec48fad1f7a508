/**
 * The admin API's response shapes as the CLI reads them, written by hand. Every
 * command file imports them from here, so that they can come from the contract's
 * schemas (src/contract/) in one place.
 */

export interface Keypair {
  clientId: string;
  name: string;
  comment: string;
  scopes: string[];
  grants: Array<{ resourceServer: string; scopes: string[] }>;
  enabled: boolean;
  disabledReason: string | null;
  secretHint: string | null;
  lastUsedAt: string | null;
  expiresAt: string | null;
  rateLimitPerMinute: number | null;
  allowedIps: string[];
  autoDisable: boolean | null;
  accountId: string;
  environmentId: string | null;
  createdBy: string;
  createdAt: string;
  version: number;
  clientSecret?: string;
}

export interface AuditEvent {
  at: string;
  action: string;
  actor: { type: string; email: string | null; id: string | null };
  ip: string | null;
  after: unknown;
}

export interface Counts {
  issued: number;
  refused: number;
}

export interface Usage {
  last24h: Counts;
  last7d: Counts;
  refusalsByReason: Array<{ reason: string; last24h: number; last7d: number }>;
  topResources: Array<{ resource: string; last7d: Counts }>;
  topScopes: Array<{ scope: string; last7d: Counts }>;
  hourly: Array<{ hour: string } & Counts>;
  recentRequests: Array<{ at: string; outcome: string; reason: string | null; ip: string | null; userAgent: string | null }>;
}

export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

/** `GET /me`: who the token speaks for and what they administer. */
export interface Me {
  isOperator: boolean;
  memberships: Array<{ accountId: string; environmentId: string | null; environmentName: string | null }>;
}

/** An application/problem+json error body. */
export interface Problem {
  detail?: string;
  title?: string;
  errors?: Array<{ field: string; message: string }>;
}
