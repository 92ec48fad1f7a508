import path from 'node:path';

/** Signing algorithms Keygate accepts for access tokens. HS* and `none` are never offered. */
export const SIGNING_ALGS = ['ES256', 'RS256', 'PS256', 'EdDSA'] as const;
export type SigningAlg = (typeof SIGNING_ALGS)[number];

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface Config {
  /** PORT: TCP port of the HTTP server. Default 3000. */
  readonly port: number;
  /** ISSUER: the `iss` of every token and the base of every published URL. Default http://localhost:PORT. */
  readonly issuer: string;
  /** DATABASE_URL: a PostgreSQL connection string. Unset: the embedded PGlite database in DATA_DIR. */
  readonly databaseUrl: string | undefined;
  /** DATABASE_POOL_MAX: connections per process to DATABASE_URL. Default 10 (the embedded database always uses 1). */
  readonly databasePoolMax: number;
  /**
   * DATABASE_CONNECT_TIMEOUT: how long opening a connection to DATABASE_URL, or waiting
   * for a free one in the pool, may take before the request answers 503. Default 2 (seconds).
   */
  readonly databaseConnectTimeoutSeconds: number;
  /**
   * DATABASE_STATEMENT_TIMEOUT: how long one statement on DATABASE_URL may take (a
   * hung or overloaded server) before the request answers 503; 0 for no limit. Default 2 (seconds).
   */
  readonly databaseStatementTimeoutSeconds: number;
  /**
   * CLIENT_CACHE_MAX_AGE: how long a cached keypair is used before it is read again,
   * even with no change notice (a second line of defence behind the change feed). Default 60 (seconds).
   */
  readonly clientCacheMaxAgeSeconds: number;
  /** DATA_DIR: where the embedded database keeps its files. Default ./data. */
  readonly dataDir: string;
  /** KEYS_FILE: the private JWKS on disk, created on first start. Default keys/jwks.json. */
  readonly keysFile: string;
  /** KEYS_JWKS: a private JWKS given inline; when set, KEYS_FILE is neither read nor written. */
  readonly keysJwks: string | undefined;
  /** TOKEN_SIGNING_ALG: algorithm of new signing keys and of access tokens. Default ES256. */
  readonly tokenSigningAlg: SigningAlg;
  /** LOG_LEVEL: debug, info, warn, error or silent. Default info. */
  readonly logLevel: LogLevel;
  /** DEFAULT_RESOURCE: identifier (`aud`) of the resource server created on first start. Default ISSUER/api. */
  readonly defaultResource: string;
  /** DEFAULT_SCOPES: space-separated scopes of that resource server. Default "read write". */
  readonly defaultScopes: readonly string[];
  /** OPERATOR_EMAIL: email of the operator user created on first start. Default operator@localhost. */
  readonly operatorEmail: string;
  /** LAST_USED_FLUSH_SECONDS: how often batched last-used times are written. Default 5 (seconds). */
  readonly lastUsedFlushSeconds: number;
  /** MAX_ACTIVE_KEYPAIRS: enabled keypairs one owner (an account, or one environment) may hold. Default 50. */
  readonly maxActiveKeypairs: number;
  /**
   * ADMIN_TRUSTED_ISSUERS: external identity providers whose JWTs the admin API accepts,
   * as JSON: [{"issuer": "...", "jwksUri": "...", "audience": "..."}]. Default none.
   */
  readonly adminTrustedIssuers: readonly TrustedIssuer[];
  /**
   * ADMIN_TOKEN_MAX_LIFETIME: the longest lifetime (exp - iat) the admin API accepts on
   * Keygate's own admin tokens. Default 86400 (seconds, 24 hours); 60 to 604800.
   */
  readonly adminTokenMaxLifetimeSeconds: number;
  /** METRICS_TOKEN: when set, GET /metrics wants `Authorization: Bearer <it>`. Default unset: open. */
  readonly metricsToken: string | undefined;
  /** SHUTDOWN_TIMEOUT: how long SIGTERM waits for in-flight requests. Default 10 (seconds). */
  readonly shutdownTimeoutSeconds: number;
  /** WORKERS: processes serving one port (node:cluster); more than 1 needs DATABASE_URL. Default 1. */
  readonly workers: number;
  /** STATUS_LIST_TTL: how long resource servers may cache a status list, so how late a revocation may reach them. Default 30 (seconds). */
  readonly statusListTtlSeconds: number;
  /** USAGE_LOG: record every token request of a known keypair (on or off). Default on. */
  readonly usageLog: boolean;
  /** USAGE_RETENTION_DAYS: how long usage records and hourly rollups are kept. Default 90 (days). */
  readonly usageRetentionDays: number;
  /** RATE_LIMIT_PER_MINUTE: token requests a keypair may make per minute unless it sets its own; 0 for no default limit. Default 600. */
  readonly rateLimitPerMinute: number;
  /**
   * TRUST_PROXY: how many reverse proxies in front of Keygate append to X-Forwarded-For
   * (`true` = 1). The client address is the one the outermost trusted proxy saw. Default
   * 0: X-Forwarded-For is ignored and the socket's address is used.
   */
  readonly trustProxyHops: number;
  /** AUTO_DISABLE_WINDOW: the window auto-disable looks back over. Default 900 (seconds). */
  readonly autoDisableWindowSeconds: number;
  /** AUTO_DISABLE_MIN_FAILURES: refusals in the window before auto-disable may fire. Default 100. */
  readonly autoDisableMinFailures: number;
  /** AUTO_DISABLE_FAILURE_RATIO: share of the keypair's requests in the window that must be refusals. Default 0.9. */
  readonly autoDisableFailureRatio: number;
  /** AUTO_DISABLE_DEFAULT: auto-disable for keypairs that do not choose (autoDisable null). Default false. */
  readonly autoDisableDefault: boolean;
  /** SMTP_URL: where notification emails go (smtp:// or smtps://). Default unset: notifications are logged. */
  readonly smtpUrl: string | undefined;
  /** MAIL_FROM: the From address of notification emails; required with SMTP_URL. */
  readonly mailFrom: string | undefined;
  /** EXPIRY_WARNING_DAYS: how long before a keypair expires its admins are told. Default 7 (days). */
  readonly expiryWarningDays: number;
  /** EXPIRED_RETENTION_DAYS: how long an expired keypair (or a retired secret) is kept before cleanup deletes it. Default 30 (days). */
  readonly expiredRetentionDays: number;
  /** CONSOLE_SESSION_TTL: how long a console sign-in lasts. Default 28800 (seconds, 8 hours). */
  readonly consoleSessionTtlSeconds: number;
}

export interface TrustedIssuer {
  readonly issuer: string;
  readonly jwksUri: string;
  readonly audience: string;
}

function trustedIssuers(env: Env): TrustedIssuer[] {
  const raw = nonEmpty(env, 'ADMIN_TRUSTED_ISSUERS');
  if (raw === undefined) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ConfigError('ADMIN_TRUSTED_ISSUERS', 'not valid JSON (expected [{"issuer", "jwksUri", "audience"}])');
  }
  if (!Array.isArray(parsed)) throw new ConfigError('ADMIN_TRUSTED_ISSUERS', 'expected a JSON array');
  return parsed.map((entry: Partial<TrustedIssuer>, index) => {
    for (const field of ['issuer', 'jwksUri', 'audience'] as const) {
      if (typeof entry?.[field] !== 'string' || !entry[field]) throw new ConfigError('ADMIN_TRUSTED_ISSUERS', `entry ${index} needs a string "${field}"`);
    }
    httpUrl('ADMIN_TRUSTED_ISSUERS', entry.jwksUri!);
    return Object.freeze({ issuer: entry.issuer!, jwksUri: entry.jwksUri!, audience: entry.audience! });
  });
}

/** A bad environment value: start-up prints `VARIABLE: problem` and exits 1. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    readonly problem: string,
  ) {
    super(`${variable}: ${problem}`);
    this.name = 'ConfigError';
  }
}

type Env = Readonly<Record<string, string | undefined>>;

function nonEmpty(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

function integerIn(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = nonEmpty(env, name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(name, `expected a whole number, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(name, `expected ${min} to ${max}, got ${value}`);
  return value;
}

function flag(env: Env, name: string, fallback: boolean): boolean {
  const raw = nonEmpty(env, name)?.toLowerCase();
  if (raw === undefined) return fallback;
  if (['true', 'on', '1', 'yes'].includes(raw)) return true;
  if (['false', 'off', '0', 'no'].includes(raw)) return false;
  throw new ConfigError(name, `expected true or false, got "${raw}"`);
}

function ratio(env: Env, name: string, fallback: number): number {
  const raw = nonEmpty(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^\d*\.?\d+$/.test(raw) || value <= 0 || value > 1) throw new ConfigError(name, `expected a number above 0 and at most 1, got "${raw}"`);
  return value;
}

/** TRUST_PROXY: `true` is one proxy, a number is that many, false/0/unset is none. */
function proxyHops(env: Env): number {
  const raw = nonEmpty(env, 'TRUST_PROXY');
  if (raw !== undefined && /^\d+$/.test(raw)) return integerIn(env, 'TRUST_PROXY', 0, 0, 10);
  return flag(env, 'TRUST_PROXY', false) ? 1 : 0;
}

function smtpUrl(env: Env): string | undefined {
  const raw = nonEmpty(env, 'SMTP_URL');
  if (raw === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError('SMTP_URL', 'not a URL (expected smtp://user:password@host:port)');
  }
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') throw new ConfigError('SMTP_URL', `expected smtp:// or smtps://, got "${url.protocol}"`);
  if (nonEmpty(env, 'MAIL_FROM') === undefined) throw new ConfigError('MAIL_FROM', 'required when SMTP_URL is set');
  return raw;
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = nonEmpty(env, name);
  if (raw === undefined) return fallback;
  const match = allowed.find((candidate) => candidate.toLowerCase() === raw.toLowerCase());
  if (!match) throw new ConfigError(name, `expected one of ${allowed.join(', ')}, got "${raw}"`);
  return match;
}

function httpUrl(name: string, raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(name, `not a URL: "${raw}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(name, `expected an http(s) URL, got "${raw}"`);
  }
  if (url.search || url.hash) throw new ConfigError(name, 'must not carry a query or fragment');
  return raw.replace(/\/+$/, '');
}

function databaseUrl(env: Env): string | undefined {
  const raw = nonEmpty(env, 'DATABASE_URL');
  if (raw === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError('DATABASE_URL', 'not a URL (expected postgres://user:password@host:port/database)');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new ConfigError('DATABASE_URL', `expected a postgres:// URL, got "${url.protocol}"`);
  }
  return raw;
}

/** Parses the environment once; every later reader gets the same frozen object. */
export function loadConfig(env: Env = process.env, cwd: string = process.cwd()): Config {
  const port = integerIn(env, 'PORT', 3000, 0, 65535);
  const issuer = httpUrl('ISSUER', nonEmpty(env, 'ISSUER') ?? `http://localhost:${port}`);
  const defaultScopes = (nonEmpty(env, 'DEFAULT_SCOPES') ?? 'read write').split(/\s+/);
  for (const scope of defaultScopes) {
    if (!/^[\x21\x23-\x5b\x5d-\x7e]+$/.test(scope)) throw new ConfigError('DEFAULT_SCOPES', `"${scope}" is not a valid scope token`);
  }
  const operatorEmail = nonEmpty(env, 'OPERATOR_EMAIL') ?? 'operator@localhost';
  if (!/^[^@\s]+@[^@\s]+$/.test(operatorEmail)) throw new ConfigError('OPERATOR_EMAIL', `not an email address: "${operatorEmail}"`);

  if (env.WORKERS !== undefined && Number(env.WORKERS) > 1 && databaseUrl(env) === undefined) {
    throw new ConfigError('WORKERS', 'several workers need DATABASE_URL: the embedded database belongs to one process');
  }
  return Object.freeze({
    port,
    issuer,
    databaseUrl: databaseUrl(env),
    databasePoolMax: integerIn(env, 'DATABASE_POOL_MAX', 10, 1, 1000),
    databaseConnectTimeoutSeconds: integerIn(env, 'DATABASE_CONNECT_TIMEOUT', 2, 1, 600),
    databaseStatementTimeoutSeconds: integerIn(env, 'DATABASE_STATEMENT_TIMEOUT', 2, 0, 86_400),
    clientCacheMaxAgeSeconds: integerIn(env, 'CLIENT_CACHE_MAX_AGE', 60, 1, 86_400),
    dataDir: path.resolve(cwd, nonEmpty(env, 'DATA_DIR') ?? 'data'),
    keysFile: path.resolve(cwd, nonEmpty(env, 'KEYS_FILE') ?? 'keys/jwks.json'),
    keysJwks: nonEmpty(env, 'KEYS_JWKS'),
    tokenSigningAlg: oneOf(env, 'TOKEN_SIGNING_ALG', SIGNING_ALGS, 'ES256'),
    logLevel: oneOf(env, 'LOG_LEVEL', LOG_LEVELS, 'info'),
    defaultResource: httpUrlOrUrn('DEFAULT_RESOURCE', nonEmpty(env, 'DEFAULT_RESOURCE') ?? `${issuer}/api`),
    defaultScopes: Object.freeze(defaultScopes),
    operatorEmail: operatorEmail.toLowerCase(),
    lastUsedFlushSeconds: integerIn(env, 'LAST_USED_FLUSH_SECONDS', 5, 1, 3600),
    maxActiveKeypairs: integerIn(env, 'MAX_ACTIVE_KEYPAIRS', 50, 1, 10_000_000),
    adminTrustedIssuers: Object.freeze(trustedIssuers(env)),
    adminTokenMaxLifetimeSeconds: integerIn(env, 'ADMIN_TOKEN_MAX_LIFETIME', 86_400, 60, 604_800),
    metricsToken: nonEmpty(env, 'METRICS_TOKEN'),
    shutdownTimeoutSeconds: integerIn(env, 'SHUTDOWN_TIMEOUT', 10, 0, 600),
    statusListTtlSeconds: integerIn(env, 'STATUS_LIST_TTL', 30, 1, 86_400),
    workers: integerIn(env, 'WORKERS', 1, 1, 64),
    usageLog: flag(env, 'USAGE_LOG', true),
    usageRetentionDays: integerIn(env, 'USAGE_RETENTION_DAYS', 90, 1, 3650),
    rateLimitPerMinute: integerIn(env, 'RATE_LIMIT_PER_MINUTE', 600, 0, 1_000_000),
    trustProxyHops: proxyHops(env),
    autoDisableWindowSeconds: integerIn(env, 'AUTO_DISABLE_WINDOW', 900, 60, 86_400),
    autoDisableMinFailures: integerIn(env, 'AUTO_DISABLE_MIN_FAILURES', 100, 1, 1_000_000),
    autoDisableFailureRatio: ratio(env, 'AUTO_DISABLE_FAILURE_RATIO', 0.9),
    autoDisableDefault: flag(env, 'AUTO_DISABLE_DEFAULT', false),
    smtpUrl: smtpUrl(env),
    mailFrom: mailFrom(env),
    expiryWarningDays: integerIn(env, 'EXPIRY_WARNING_DAYS', 7, 1, 365),
    expiredRetentionDays: integerIn(env, 'EXPIRED_RETENTION_DAYS', 30, 1, 3650),
    consoleSessionTtlSeconds: integerIn(env, 'CONSOLE_SESSION_TTL', 28_800, 60, 604_800),
  });
}

function mailFrom(env: Env): string | undefined {
  const raw = nonEmpty(env, 'MAIL_FROM');
  // A bare address or "Name <address>".
  if (raw !== undefined && !/^(?:[^<>]*<)?[^@\s<>]+@[^@\s<>]+>?$/.test(raw)) throw new ConfigError('MAIL_FROM', `not an email address: "${raw}"`);
  return raw;
}

/** RFC 8707 resource indicators are absolute URIs without a fragment. */
export function httpUrlOrUrn(name: string, raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(name, `not an absolute URI: "${raw}"`);
  }
  if (url.hash) throw new ConfigError(name, 'must not carry a fragment');
  return raw;
}
