import type { Config } from '../config/config.js';
import { mintAdminToken } from '../signing/admin_token.js';
import { loadKeySet } from '../signing/keystore.js';

/** A failure the CLI reports as `keygate: <message>` and exit code 1. */
export class CliError extends Error {}

export interface AdminOptions {
  readonly url?: string | undefined;
  readonly token?: string | undefined;
  readonly json: boolean;
}

interface Problem {
  detail?: string;
  title?: string;
  errors?: Array<{ field: string; message: string }>;
}

/** The admin API over HTTP, as the operator (a token signed from keys/) unless told otherwise. */
export class AdminClient {
  private constructor(
    readonly baseUrl: string,
    private readonly token: string,
  ) {}

  static async connect(config: Config, options: AdminOptions): Promise<AdminClient> {
    const baseUrl = (options.url ?? process.env.KEYGATE_URL ?? config.issuer).replace(/\/+$/, '');
    const token = options.token ?? process.env.KEYGATE_TOKEN ?? (await mintAdminToken(config, await loadKeySet(config), config.operatorEmail));
    return new AdminClient(baseUrl, token);
  }

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}/admin/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${this.token}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
        ...(body !== undefined && { body: JSON.stringify(body) }),
      });
    } catch {
      throw new CliError(`cannot reach ${this.baseUrl}: is the server running (npm start)?`);
    }
    if (response.status === 204) return undefined as T;
    const text = await response.text();
    const parsed = text ? (JSON.parse(text) as unknown) : undefined;
    if (!response.ok) {
      const problem = (parsed ?? {}) as Problem;
      const fields = (problem.errors ?? []).map((error) => `\n  ${error.field}: ${error.message}`).join('');
      throw new CliError(`${problem.detail ?? problem.title ?? `the server answered ${response.status}`}${fields}`);
    }
    return parsed as T;
  }
}

/** Prints rows as an aligned table. */
export function table(rows: Array<Record<string, string>>): string {
  if (rows.length === 0) return '(none)\n';
  const columns = Object.keys(rows[0]!);
  const widths = columns.map((column) => Math.max(column.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: string[]) => cells.map((cell, index) => cell.padEnd(widths[index]!)).join('  ').trimEnd();
  return `${[line(columns), ...rows.map((row) => line(columns.map((column) => row[column] ?? '')))].join('\n')}\n`;
}

/** `key  value` lines. */
export function fields(entries: Array<[string, unknown]>): string {
  const width = Math.max(...entries.map(([key]) => key.length));
  return `${entries.map(([key, value]) => `${key.padEnd(width)}  ${value === null || value === undefined ? '' : Array.isArray(value) ? value.join(' ') : String(value)}`).join('\n')}\n`;
}
