import { access } from 'node:fs/promises';
import type { Config } from '../config/config.js';
import { ADMIN_TOKEN_TTL_SECONDS, mintAdminToken } from '../signing/admin_token.js';
import { loadKeySet, type KeySet } from '../signing/keystore.js';
import type { Problem } from './api_types.js';
import { CliError, EXIT, exitCodeForStatus, UsageError } from './errors.js';
import { withLocalIssuer } from './local_server.js';

export interface AdminOptions {
  /** --url: the server to call; else KEYGATE_URL, the local server, ISSUER. */
  readonly url?: string | undefined;
  readonly token?: string | undefined;
  readonly json: boolean;
}

/**
 * The server's signing keys, for a command that signs with them (an operator token, a
 * console link). A client must never create signing keys: loadKeySet would write a
 * fresh key set that the server does not know, so a missing KEYS_FILE is an error here,
 * not a first start. `what` is what the keys would sign; `instead` the way round it.
 */
export async function serverKeySet(config: Config, what: string, instead = ''): Promise<KeySet> {
  if (config.keysJwks === undefined) {
    try {
      await access(config.keysFile);
    } catch {
      throw new CliError(`no signing keys at ${config.keysFile} to sign ${what} with: run keygate where the server keeps its keys (KEYS_FILE or KEYS_JWKS)${instead}`);
    }
  }
  return loadKeySet(config);
}

/** The operator's admin token, signed with the server's keys. */
async function operatorToken(config: Config): Promise<string> {
  const keys = await serverKeySet(config, 'an operator token', ', or give --token or KEYGATE_TOKEN');
  return mintAdminToken(config, keys, config.operatorEmail, Math.min(ADMIN_TOKEN_TTL_SECONDS, config.adminTokenMaxLifetimeSeconds));
}

/** The admin API over HTTP, as the operator (a token signed from keys/) unless told otherwise. */
export class AdminClient {
  private constructor(
    readonly baseUrl: string,
    /** The configuration with the found server's ISSUER: what a token for it must be signed for. */
    readonly server: Config,
    private readonly token: string,
    /** Said after a 401 when the CLI signed the token itself: what the server must share with it. */
    private readonly mintedHint: string | undefined,
  ) {}

  static async connect(config: Config, options: AdminOptions): Promise<AdminClient> {
    // An empty variable counts as unset, as in loadConfig.
    const named = options.url ?? (process.env.KEYGATE_URL || undefined);
    const server = await withLocalIssuer(config, named);
    const raw = named ?? server.issuer;
    const baseUrl = raw.replace(/\/+$/, '');
    if (!/^https?:\/\//.test(baseUrl) || !URL.canParse(baseUrl)) throw new UsageError(`the server URL must be http(s)://host[:port], not "${raw}" (--url or KEYGATE_URL)`);
    const given = options.token ?? (process.env.KEYGATE_TOKEN || undefined);
    if (given !== undefined) return new AdminClient(baseUrl, server, given, undefined);
    const keys = server.keysJwks === undefined ? server.keysFile : 'KEYS_JWKS';
    const hint = `(the CLI signed an operator token for ${server.operatorEmail} with the keys in ${keys} and issuer ${server.issuer}; the server must use the same keys and ISSUER, or give --token)`;
    return new AdminClient(baseUrl, server, await operatorToken(server), hint);
  }

  /** `timeoutMs`: for a call that is only a check, so a host that never answers does not hold the command up. */
  async call<T>(method: string, path: string, body?: unknown, timeoutMs?: number): Promise<T> {
    // The last guard for ids typed into paths (asId is the first): fetch resolves a "."
    // or ".." segment, even encoded, and would send the request to another route.
    const dotSegment = path.split('?')[0]!.split('/').find((segment) => /^(\.|%2e){1,2}$/i.test(segment));
    if (dotSegment !== undefined) throw new UsageError(`not an id: ${JSON.stringify(dotSegment)}`);
    let response: Response;
    let text: string;
    try {
      response = await fetch(`${this.baseUrl}/admin/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${this.token}`, accept: 'application/json', ...(body !== undefined && { 'content-type': 'application/json' }) },
        ...(body !== undefined && { body: JSON.stringify(body) }),
        ...(timeoutMs !== undefined && { signal: AbortSignal.timeout(timeoutMs) }),
      });
      text = await response.text();
    } catch {
      throw new CliError(`cannot reach ${this.baseUrl}: is the server running (npm start)? If it listens elsewhere, set KEYGATE_URL or pass --url`, EXIT.unreachable);
    }
    if (response.status === 204) return undefined as T;
    let parsed: unknown;
    try {
      parsed = text ? (JSON.parse(text) as unknown) : undefined;
    } catch {
      throw new CliError(`${this.baseUrl} answered ${response.status} with something other than JSON: is it a Keygate server?`, EXIT.failed, { status: response.status });
    }
    if (!response.ok) {
      const problem = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Problem;
      const fields = (Array.isArray(problem.errors) ? problem.errors : []).map((error) => `\n  ${error.field}: ${error.message}`).join('');
      const hint = response.status === 401 ? this.mintedHint : undefined;
      throw new CliError(`${problem.detail ?? problem.title ?? `the server answered ${response.status}`}${fields}`, exitCodeForStatus(response.status), { ...problem, status: response.status }, hint);
    }
    return parsed as T;
  }
}
