import type { Config } from '../config/config.js';
import { AdminClient, CliError, fields, plain, table, type AdminOptions } from './admin.js';

/** The options the admin commands read (parsed in main.ts). */
export interface AdminValues {
  json?: boolean | undefined;
  url?: string | undefined;
  token?: string | undefined;
  name?: string | undefined;
  comment?: string | undefined;
  scopes?: string | undefined;
  /** `--grant URI=scope,scope`, repeatable. */
  grant?: string[] | undefined;
  expires?: string | undefined;
  environment?: string | undefined;
  account?: string | undefined;
  enabled?: string | undefined;
  q?: string | undefined;
  limit?: string | undefined;
  cursor?: string | undefined;
  reason?: string | undefined;
  grace?: string | undefined;
  identifier?: string | undefined;
  ttl?: string | undefined;
  'available-to'?: string | undefined;
  user?: string | undefined;
  email?: string | undefined;
  operator?: boolean | undefined;
  'rate-limit'?: string | undefined;
  'allowed-ips'?: string | undefined;
  'auto-disable'?: string | undefined;
}

interface Keypair {
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

interface AuditEvent {
  at: string;
  action: string;
  actor: { type: string; email: string | null; id: string | null };
  ip: string | null;
  after: unknown;
}

interface Counts {
  issued: number;
  refused: number;
}

interface Usage {
  last24h: Counts;
  last7d: Counts;
  refusalsByReason: Array<{ reason: string; last24h: number; last7d: number }>;
  topResources: Array<{ resource: string; last7d: Counts }>;
  topScopes: Array<{ scope: string; last7d: Counts }>;
  hourly: Array<{ hour: string } & Counts>;
  recentRequests: Array<{ at: string; outcome: string; reason: string | null; ip: string | null; userAgent: string | null }>;
}

interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

const out = (text: string) => process.stdout.write(text);
const note = (text: string) => process.stderr.write(`${text}\n`);
const words = (value: string | undefined) => (value === undefined ? undefined : value.split(/[\s,]+/).filter(Boolean));

function requireValue(value: string | undefined, flag: string): string {
  if (value === undefined || value === '') throw new CliError(`${flag} is required`);
  return value;
}

function requireId(id: string | undefined, what: string): string {
  if (!id) throw new CliError(`name the ${what}: keygate … ${what} ID`);
  return id;
}

/**
 * `--expires 7d`, `--expires 3600`, `--expires 2027-01-31T12:00:00Z` or `--expires 2027-01-31`
 * (the start of that day, UTC). The server checks the value; this only picks the field.
 */
function expiry(value: string | undefined): Record<string, unknown> {
  if (value === undefined || value === 'never') return {};
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) return { expiresAt: `${value}T00:00:00Z` };
  if (/^\d{4}-\d{2}-\d{2}T/.test(value)) return { expiresAt: value };
  return { expiresIn: value };
}

function pageQuery(values: AdminValues, extra: Record<string, string | undefined> = {}): string {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries({ ...extra, limit: values.limit, cursor: values.cursor })) {
    if (value !== undefined) query.set(key, value);
  }
  return query.size ? `?${query}` : '';
}

const more = (page: Page<unknown>) => (page.nextCursor ? `more: --cursor ${page.nextCursor}\n` : '');

/** Grants as `--grant` takes them: `URI=scope,scope`, space-separated. */
function grantsText(keypair: Keypair): string {
  return keypair.grants.map((grant) => `${grant.resourceServer}=${grant.scopes.join(',')}`).join(' ');
}

/**
 * `--grant URI=scope,scope` values as the API's grants. The scopes follow the last
 * `=`, so an identifier may hold one (a scope token may too, but none that Keygate
 * ships does).
 */
function parseGrantOptions(values: readonly string[] | undefined): Array<{ resourceServer: string; scopes: string[] }> | undefined {
  if (values === undefined || values.length === 0) return undefined;
  return values.map((value) => {
    const at = value.lastIndexOf('=');
    const scopes = value.slice(at + 1).split(',').filter((scope) => scope !== '');
    if (at <= 0 || scopes.length === 0) throw new CliError(`--grant takes RESOURCE_SERVER=scope[,scope...], such as https://payments.example=read,refund (got "${value}")`);
    return { resourceServer: value.slice(0, at), scopes };
  });
}

function keypairRow(keypair: Keypair): Record<string, string> {
  return {
    CLIENT_ID: keypair.clientId,
    NAME: keypair.name,
    STATE: keypair.enabled ? 'enabled' : 'disabled',
    GRANTS: grantsText(keypair),
    SECRET: keypair.secretHint ?? '',
    LAST_USED: keypair.lastUsedAt ?? 'never',
    EXPIRES: keypair.expiresAt ?? 'never',
    CREATED_BY: keypair.createdBy,
  };
}

/** What an event changed, as `field=value` pairs (the `after` side). */
function eventRow(event: AuditEvent): Record<string, string> {
  const after = typeof event.after === 'object' && event.after !== null ? Object.entries(event.after) : [];
  return {
    AT: event.at,
    ACTION: event.action,
    ACTOR: event.actor.email ?? event.actor.id ?? event.actor.type,
    IP: event.ip ?? '',
    CHANGES: after.map(([key, value]) => `${key}=${plain(value) || '""'}`).join(', '),
  };
}

function showKeypair(keypair: Keypair): string {
  return fields([
    ['client_id', keypair.clientId],
    ['name', keypair.name],
    ['comment', keypair.comment],
    ['state', keypair.enabled ? 'enabled' : `disabled${keypair.disabledReason ? ` (${keypair.disabledReason})` : ''}`],
    ['grants', grantsText(keypair) || 'none'],
    ['secret', keypair.secretHint],
    ['last used', keypair.lastUsedAt ?? 'never'],
    ['expires', keypair.expiresAt ?? 'never'],
    ['rate limit', keypair.rateLimitPerMinute === null ? 'server default' : `${keypair.rateLimitPerMinute} per minute`],
    ['allowed IPs', keypair.allowedIps.length > 0 ? keypair.allowedIps : 'anywhere'],
    ['auto-disable', keypair.autoDisable === null ? 'server default' : keypair.autoDisable ? 'on' : 'off'],
    ['owner', keypair.environmentId ? `environment ${keypair.environmentId}` : `account ${keypair.accountId}`],
    ['created', `${keypair.createdAt} by ${keypair.createdBy}`],
    ['version', keypair.version],
  ]);
}

const SPARKS = '▁▂▃▄▅▆▇█';

/** A row of block characters, one per hour, scaled to the busiest hour. */
function sparkline(values: readonly number[]): string {
  const top = Math.max(...values, 1);
  return values.map((value) => (value === 0 ? '·' : SPARKS[Math.min(SPARKS.length - 1, Math.floor((value / top) * (SPARKS.length - 1)))])).join('');
}

/** The usage summary as a person reads it: totals, what fails, where from, the last requests. */
function showUsage(clientId: string, usage: Usage): string {
  const listed = (entries: Array<[string, number]>) => (entries.length > 0 ? entries.map(([key, count]) => `${key} ${count}`).join(', ') : 'none');
  return `usage of ${clientId} (windows are whole hours)
${table([
    { WINDOW: 'last 24 h', ISSUED: String(usage.last24h.issued), REFUSED: String(usage.last24h.refused) },
    { WINDOW: 'last 7 d', ISSUED: String(usage.last7d.issued), REFUSED: String(usage.last7d.refused) },
  ])}
${fields([
    ['refusals (7 d)', listed(usage.refusalsByReason.map((entry) => [entry.reason, entry.last7d]))],
    ['resources (7 d)', listed(usage.topResources.map((entry) => [entry.resource, entry.last7d.issued + entry.last7d.refused]))],
    ['scopes (7 d)', listed(usage.topScopes.map((entry) => [entry.scope, entry.last7d.issued + entry.last7d.refused]))],
    ['issued, hourly', sparkline(usage.hourly.map((hour) => hour.issued))],
    ['refused, hourly', sparkline(usage.hourly.map((hour) => hour.refused))],
  ])}
last ${usage.recentRequests.length} requests:
${usage.recentRequests.length > 0 ? table(usage.recentRequests.map((request) => ({ AT: request.at, OUTCOME: request.outcome, REASON: request.reason ?? '', IP: request.ip ?? '', USER_AGENT: request.userAgent ?? '' }))) : '  none yet\n'}`;
}

/** --rate-limit, --allowed-ips and --auto-disable as the admin API takes them; "default" is null. */
function guards(values: AdminValues): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  const rateLimit = values['rate-limit'];
  if (rateLimit !== undefined) {
    if (rateLimit !== 'default' && !/^\d+$/.test(rateLimit)) throw new CliError('--rate-limit takes a number of requests per minute (60 to 1000) or "default"');
    body.rateLimitPerMinute = rateLimit === 'default' ? null : Number(rateLimit);
  }
  if (values['allowed-ips'] !== undefined) body.allowedIps = words(values['allowed-ips']);
  const autoDisable = values['auto-disable'];
  if (autoDisable !== undefined) {
    if (!['true', 'false', 'default'].includes(autoDisable)) throw new CliError('--auto-disable takes true, false or default');
    body.autoDisable = autoDisable === 'default' ? null : autoDisable === 'true';
  }
  return body;
}

/** The secret, once, with the warning and a curl that uses it. */
function showSecret(client: AdminClient, keypair: Keypair, verb: string): string {
  return `${verb} keypair ${keypair.name}\n${fields([
    ['client_id', keypair.clientId],
    ['client_secret', keypair.clientSecret],
  ])}\nThis secret is shown once and cannot be shown again: store it now.\n\nFetch a token with it:\n  curl -s -u "${keypair.clientId}:${keypair.clientSecret}" -d grant_type=client_credentials ${client.baseUrl}/token\n`;
}

/**
 * The keypair owner a command means: --environment or --account, else the caller's
 * only environment (saying so), else an error listing the choices.
 */
async function owner(client: AdminClient, values: AdminValues): Promise<string> {
  if (values.environment && values.account) throw new CliError('give --environment or --account, not both');
  if (values.environment) return `/environments/${values.environment}`;
  if (values.account) return `/accounts/${values.account}`;
  const me = await client.call<{ isOperator: boolean; memberships: Array<{ accountId: string; environmentId: string | null; environmentName: string | null }> }>('GET', '/me');
  const environments: Array<{ id: string; name: string }> = [];
  for (const membership of me.memberships) {
    if (membership.environmentId) environments.push({ id: membership.environmentId, name: membership.environmentName ?? '' });
  }
  const accountIds = me.isOperator
    ? (await client.call<Page<{ id: string }>>('GET', '/accounts')).data.map((account) => account.id)
    : me.memberships.filter((membership) => membership.environmentId === null).map((membership) => membership.accountId);
  for (const accountId of accountIds) {
    for (const environment of (await client.call<Page<{ id: string; name: string }>>('GET', `/accounts/${accountId}/environments`)).data) {
      if (!environments.some((known) => known.id === environment.id)) environments.push(environment);
    }
  }
  if (environments.length === 1) {
    note(`using environment ${environments[0]!.name} (${environments[0]!.id})`);
    return `/environments/${environments[0]!.id}`;
  }
  if (environments.length === 0) throw new CliError('you administer no environment; give --account ID for account-level keypairs');
  throw new CliError(`you administer several environments; pick one with --environment:\n${environments.map((environment) => `  ${environment.id}  ${environment.name}`).join('\n')}`);
}

async function keypairs(client: AdminClient, action: string | undefined, id: string | undefined, values: AdminValues): Promise<unknown> {
  switch (action) {
    case 'create': {
      const grants = parseGrantOptions(values.grant);
      const scopes = words(values.scopes) ?? (grants ? undefined : []);
      const body = { name: requireValue(values.name, '--name'), ...(scopes && { scopes }), ...(grants && { grants }), ...(values.comment !== undefined && { comment: values.comment }), ...expiry(values.expires), ...guards(values) };
      const created = await client.call<Keypair>('POST', `${await owner(client, values)}/keypairs`, body);
      return values.json ? created : showSecret(client, created, 'Created');
    }
    case 'list': {
      const page = await client.call<Page<Keypair>>('GET', `${await owner(client, values)}/keypairs${pageQuery(values, { enabled: values.enabled, q: values.q })}`);
      if (values.json) return page;
      return `${table(page.data.map(keypairRow))}${more(page)}`;
    }
    case 'show': {
      const keypair = await client.call<Keypair>('GET', `/keypairs/${requireId(id, 'keypair')}`);
      return values.json ? keypair : showKeypair(keypair);
    }
    case 'disable':
    case 'enable': {
      const body = action === 'disable' ? { enabled: false, ...(values.reason !== undefined && { disabledReason: values.reason }) } : { enabled: true };
      const keypair = await client.call<Keypair>('PATCH', `/keypairs/${requireId(id, 'keypair')}`, body);
      return values.json ? keypair : `${action}d ${keypair.clientId} (${keypair.name})\n`;
    }
    case 'update': {
      const body = {
        ...(values.name !== undefined && { name: values.name }),
        ...(values.comment !== undefined && { comment: values.comment }),
        ...(values.scopes !== undefined && { scopes: words(values.scopes) }),
        ...(values.grant !== undefined && { grants: parseGrantOptions(values.grant) }),
        ...guards(values),
      };
      if (Object.keys(body).length === 0) throw new CliError('update takes --name, --comment, --scopes, --grant, --rate-limit, --allowed-ips or --auto-disable');
      const keypair = await client.call<Keypair>('PATCH', `/keypairs/${requireId(id, 'keypair')}`, body);
      return values.json ? keypair : showKeypair(keypair);
    }
    case 'rotate': {
      if (values.grace !== undefined && !/^\d+$/.test(values.grace)) throw new CliError('--grace takes a whole number of seconds');
      const grace = values.grace === undefined ? 0 : Number(values.grace);
      const keypair = await client.call<Keypair>('POST', `/keypairs/${requireId(id, 'keypair')}/rotate`, { gracePeriodSeconds: grace });
      if (values.json) return keypair;
      return `${showSecret(client, keypair, 'Rotated')}${grace > 0 ? `The previous secret keeps working for ${grace} seconds.\n` : 'The previous secret no longer works.\n'}`;
    }
    case 'delete': {
      await client.call('DELETE', `/keypairs/${requireId(id, 'keypair')}`);
      return values.json ? { deleted: id } : `deleted ${id}\n`;
    }
    case 'events': {
      const page = await client.call<Page<AuditEvent>>('GET', `/keypairs/${requireId(id, 'keypair')}/events${pageQuery(values)}`);
      if (values.json) return page;
      return `${table(page.data.map(eventRow))}${more(page)}`;
    }
    case 'usage': {
      const clientId = requireId(id, 'keypair');
      const usage = await client.call<Usage>('GET', `/keypairs/${clientId}/usage`);
      return values.json ? usage : showUsage(clientId, usage);
    }
    default:
      throw new CliError('keypairs takes create, list, show, update, disable, enable, rotate, delete, events or usage');
  }
}

async function simple(client: AdminClient, group: string, action: string | undefined, id: string | undefined, values: AdminValues): Promise<unknown> {
  const render = (data: unknown, rows: (item: Record<string, unknown>) => Record<string, string>) => {
    if (values.json) return data;
    const list = (data as Page<Record<string, unknown>>).data;
    return list ? table(list.map(rows)) : fields(Object.entries(data as Record<string, unknown>).filter(([, value]) => value === null || typeof value !== 'object' || Array.isArray(value)));
  };
  const basics = (item: Record<string, unknown>) => ({ ID: String(item.id), NAME: String(item.name), STATUS: String(item.status ?? '') });
  switch (`${group} ${action}`) {
    case 'accounts list':
      return render(await client.call('GET', '/accounts'), basics);
    case 'accounts create':
      return render(await client.call('POST', '/accounts', { name: requireValue(values.name, '--name') }), basics);
    case 'accounts show':
      return render(await client.call('GET', `/accounts/${requireId(id, 'account')}`), basics);
    case 'accounts close':
      await client.call('DELETE', `/accounts/${requireId(id, 'account')}`);
      return values.json ? { closed: id } : `closed account ${id} and deleted its keypairs\n`;
    case 'environments list':
      return render(await client.call('GET', `/accounts/${requireValue(values.account, '--account')}/environments`), basics);
    case 'environments create':
      return render(await client.call('POST', `/accounts/${requireValue(values.account, '--account')}/environments`, { name: requireValue(values.name, '--name') }), basics);
    case 'environments close':
      await client.call('DELETE', `/environments/${requireId(id, 'environment')}`);
      return values.json ? { closed: id } : `closed environment ${id} and deleted its keypairs\n`;
    case 'resource-servers list':
      return render(await client.call('GET', '/resource-servers'), (item) => ({
        ID: String(item.id),
        IDENTIFIER: String(item.identifier),
        NAME: String(item.name),
        SCOPES: (item.scopes as Array<{ name: string }>).map((scope) => scope.name).join(' '),
        TTL: String(item.accessTokenTtl),
        AVAILABLE_TO: item.availableTo === null || item.availableTo === undefined ? 'all' : (item.availableTo as string[]).join(','),
        DEFAULT: item.isDefault ? 'yes' : '',
      }));
    case 'resource-servers create': {
      const scopes = (words(values.scopes) ?? []).map((name) => ({ name, description: name }));
      const body = { identifier: requireValue(values.identifier, '--identifier'), name: requireValue(values.name, '--name'), scopes, ...(values.ttl !== undefined && { accessTokenTtl: Number(values.ttl) }), ...(values['available-to'] !== undefined && { availableTo: values['available-to'].split(',').map((id) => id.trim()).filter(Boolean) }) };
      return render(await client.call('POST', '/resource-servers', body), basics);
    }
    case 'users list':
      return render(await client.call('GET', '/users'), (item) => ({ ID: String(item.id), EMAIL: String(item.email), NAME: String(item.name), OPERATOR: item.isOperator ? 'yes' : '' }));
    case 'users create':
      return render(await client.call('POST', '/users', { email: requireValue(values.email, '--email'), ...(values.name !== undefined && { name: values.name }), ...(values.operator && { isOperator: true }) }), basics);
    case 'admins grant':
    case 'admins revoke': {
      const user = requireValue(values.user, '--user');
      if (Boolean(values.account) === Boolean(values.environment)) throw new CliError('give --account ID or --environment ID');
      const path = values.account ? `/accounts/${values.account}/admins/${user}` : `/environments/${values.environment}/admins/${user}`;
      const result = await client.call(action === 'grant' ? 'PUT' : 'DELETE', path);
      return values.json ? (result ?? { revoked: user }) : `${action === 'grant' ? 'granted' : 'revoked'} admin for ${user} on ${values.account ?? values.environment}\n`;
    }
    default:
      throw new CliError(`unknown command: ${group} ${action ?? ''}`.trim());
  }
}

/** Runs `keygate <group> <action> [id]` against the admin API and prints the result. */
export async function runAdminCommand(config: Config, group: string, action: string | undefined, id: string | undefined, values: AdminValues): Promise<void> {
  const client = await AdminClient.connect(config, { url: values.url, token: values.token, json: values.json ?? false } satisfies AdminOptions);
  const result = group === 'keypairs' ? await keypairs(client, action, id, values) : await simple(client, group, action, id, values);
  out(typeof result === 'string' ? result : `${JSON.stringify(result, null, 2)}\n`);
}

export const ADMIN_GROUPS = new Set(['keypairs', 'accounts', 'environments', 'resource-servers', 'users', 'admins']);
