import { AdminClient, type AdminOptions } from './admin_client.js';
import type { Page } from './api_types.js';
import { UsageError } from './errors.js';
import { fields, table, terminalSafe } from './format.js';
import { defineCommand, type Command, type FlagValues, type Flags } from './options.js';

/** Flags every admin command takes: where the server is, who calls it, and JSON output for scripts. */
export const ADMIN_FLAGS = {
  url: { type: 'string' },
  token: { type: 'string' },
  json: { type: 'boolean' },
} as const satisfies Flags;

type AdminFlags = typeof ADMIN_FLAGS & Flags;

/**
 * Declares `keygate <group> <action> [id]`, run against the admin API: the client
 * connects before the action runs, and the result prints as text, or as JSON when
 * the action returns an object (what it does with --json).
 */
export function defineAdminCommand<const F extends AdminFlags>(group: {
  name: string;
  flags: F;
  run(client: AdminClient, action: string | undefined, id: string | undefined, values: FlagValues<F>): Promise<unknown>;
}): Command {
  return defineCommand({
    name: group.name,
    flags: group.flags,
    async run(config, { words: [action, id], values }) {
      // F extends AdminFlags, which TypeScript cannot carry through FlagValues<F>.
      const { url, token, json } = values as FlagValues<typeof ADMIN_FLAGS>;
      const client = await AdminClient.connect(config, { url, token, json: json ?? false } satisfies AdminOptions);
      const result = await group.run(client, action, id, values);
      process.stdout.write(typeof result === 'string' ? terminalSafe(result) : `${JSON.stringify(result, null, 2)}\n`);
    },
  });
}

export const words = (value: string | undefined) => (value === undefined ? undefined : value.split(/[\s,]+/).filter(Boolean));

export function requireValue(value: string | undefined, flag: string): string {
  if (value === undefined || value === '') throw new UsageError(`${flag} is required`);
  return value;
}

/** Keygate's ids (kp_3hQ…, env_…): what the CLI puts into a request's path as typed. */
const ID_SHAPE = /^[A-Za-z0-9_-]+$/;

/**
 * `value` as one plain path segment, or a usage error: an "id" such as
 * `x/../../accounts/acc_1` would otherwise send the request to another route.
 */
export function asId(value: string, label: string): string {
  if (!ID_SHAPE.test(value)) throw new UsageError(`${label} is not an id (letters, digits, _ and -, like kp_3hQ…): ${JSON.stringify(value)}`);
  return value;
}

export function requireId(id: string | undefined, what: string): string {
  if (!id) throw new UsageError(`name the ${what}: keygate … ${what} ID`);
  return asId(id, `the ${what} ID`);
}

/** An id given as a flag (--account ID), required. */
export function requireIdFlag(value: string | undefined, flag: string): string {
  return asId(requireValue(value, flag), flag);
}

export function unknownAction(group: string, action: string | undefined): UsageError {
  return new UsageError(`unknown command: ${group} ${action ?? ''}`.trim());
}

/** A response as JSON with --json; otherwise a page as a table of `rows`, one object as `key  value` lines. */
export function render(json: boolean | undefined, data: unknown, rows: (item: Record<string, unknown>) => Record<string, string>): unknown {
  if (json) return data;
  const list = (data as Page<Record<string, unknown>>).data;
  return list ? table(list.map(rows)) : fields(Object.entries(data as Record<string, unknown>).filter(([, value]) => value === null || typeof value !== 'object' || Array.isArray(value)));
}

/** The columns of accounts, environments and created users or resource servers. */
export const basics = (item: Record<string, unknown>) => ({ ID: String(item.id), NAME: String(item.name), STATUS: String(item.status ?? '') });
