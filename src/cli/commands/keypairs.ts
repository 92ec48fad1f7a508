import type { AdminClient } from '../admin_client.js';
import type { AuditEvent, Keypair, Me, Page, Usage } from '../api_types.js';
import { ADMIN_FLAGS, asId, defineAdminCommand, requireId, requireValue, words } from '../admin_command.js';
import { UsageError } from '../errors.js';
import { table, terminalSafe } from '../format.js';
import type { FlagValues, Flags } from '../options.js';
import { readPublicKeys } from '../public_key_file.js';
import { eventRow, keypairRow, showCreated, showKeypair, showSecret, showUsage } from './keypairs_view.js';

const KEYPAIR_FLAGS = {
  ...ADMIN_FLAGS,
  name: { type: 'string' },
  comment: { type: 'string' },
  scopes: { type: 'string' },
  /** `--grant URI=scope,scope`, repeatable. */
  grant: { type: 'string', multiple: true },
  expires: { type: 'string' },
  environment: { type: 'string' },
  account: { type: 'string' },
  enabled: { type: 'string' },
  q: { type: 'string' },
  limit: { type: 'string' },
  cursor: { type: 'string' },
  reason: { type: 'string' },
  grace: { type: 'string' },
  'rate-limit': { type: 'string' },
  'allowed-ips': { type: 'string' },
  'auto-disable': { type: 'string' },
  /** `--public-key FILE`, repeatable: a PEM public key, a JWK or a JWK Set. */
  'public-key': { type: 'string', multiple: true },
  'federation-issuer': { type: 'string' },
  subject: { type: 'string' },
  /** `--claim name=value`, repeatable. */
  claim: { type: 'string', multiple: true },
  'require-dpop': { type: 'boolean' },
  'no-require-dpop': { type: 'boolean' },
} as const satisfies Flags;

type KeypairValues = FlagValues<typeof KEYPAIR_FLAGS>;

const note = (text: string) => process.stderr.write(`${terminalSafe(text)}\n`);

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

function pageQuery(values: KeypairValues, extra: Record<string, string | undefined> = {}): string {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries({ ...extra, limit: values.limit, cursor: values.cursor })) {
    if (value !== undefined) query.set(key, value);
  }
  return query.size ? `?${query}` : '';
}

const more = (page: Page<unknown>) => (page.nextCursor ? `more: --cursor ${page.nextCursor}\n` : '');

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
    if (at <= 0 || scopes.length === 0) throw new UsageError(`--grant takes RESOURCE_SERVER=scope[,scope...], such as https://payments.example=read,refund (got "${value}")`);
    return { resourceServer: value.slice(0, at), scopes };
  });
}

/** --rate-limit, --allowed-ips and --auto-disable as the admin API takes them; "default" is null. */
function guards(values: KeypairValues): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  const rateLimit = values['rate-limit'];
  if (rateLimit !== undefined) {
    if (rateLimit !== 'default' && !/^\d+$/.test(rateLimit)) throw new UsageError('--rate-limit takes a number of requests per minute (60 to 1000) or "default"');
    body.rateLimitPerMinute = rateLimit === 'default' ? null : Number(rateLimit);
  }
  if (values['allowed-ips'] !== undefined) body.allowedIps = words(values['allowed-ips']);
  const autoDisable = values['auto-disable'];
  if (autoDisable !== undefined) {
    if (!['true', 'false', 'default'].includes(autoDisable)) throw new UsageError('--auto-disable takes true, false or default');
    body.autoDisable = autoDisable === 'default' ? null : autoDisable === 'true';
  }
  return body;
}

/** `--claim name=value` values as the API's `federation.claims`; the value follows the first `=`. */
function parseClaims(values: readonly string[] | undefined): Record<string, string> | undefined {
  if (values === undefined || values.length === 0) return undefined;
  return Object.fromEntries(
    values.map((value) => {
      const at = value.indexOf('=');
      if (at <= 0) throw new UsageError(`--claim takes NAME=VALUE, such as repository=acme/api (got "${value}")`);
      return [value.slice(0, at), value.slice(at + 1)];
    }),
  );
}

/** --require-dpop / --no-require-dpop as `requireDpop`. */
function dpop(values: KeypairValues): Record<string, unknown> {
  if (values['require-dpop'] && values['no-require-dpop']) throw new UsageError('give --require-dpop or --no-require-dpop, not both');
  if (values['require-dpop']) return { requireDpop: true };
  if (values['no-require-dpop']) return { requireDpop: false };
  return {};
}

/**
 * The credential of a create: --public-key files, or --federation-issuer with --subject
 * (and --claim); neither: a secret. The server checks the keys and the issuer.
 */
async function credential(values: KeypairValues): Promise<Record<string, unknown>> {
  const files = values['public-key'] ?? [];
  const federated = values['federation-issuer'] !== undefined || values.subject !== undefined || values.claim !== undefined;
  if (files.length > 0 && federated) throw new UsageError('give --public-key or --federation-issuer/--subject, not both');
  if (files.length > 0) return { publicKeys: await readPublicKeys(files) };
  if (!federated) return {};
  const claims = parseClaims(values.claim);
  return { federation: { issuer: requireValue(values['federation-issuer'], '--federation-issuer'), subject: requireValue(values.subject, '--subject'), ...(claims && { claims }) } };
}

/** What an update changes of a keyless credential: --public-key replaces the keys; --subject and --claim the federation's. */
async function credentialUpdate(values: KeypairValues): Promise<Record<string, unknown>> {
  if (values['federation-issuer'] !== undefined) throw new UsageError('--federation-issuer cannot change: create a new keypair for another trusted issuer');
  const claims = parseClaims(values.claim);
  const federation = { ...(values.subject !== undefined && { subject: values.subject }), ...(claims && { claims }) };
  return {
    ...(values['public-key'] !== undefined && { publicKeys: await readPublicKeys(values['public-key']) }),
    ...(Object.keys(federation).length > 0 && { federation }),
  };
}

/**
 * The keypair owner a command means: --environment or --account, else the caller's
 * only environment (saying so), else an error listing the choices.
 */
async function owner(client: AdminClient, values: KeypairValues): Promise<string> {
  if (values.environment && values.account) throw new UsageError('give --environment or --account, not both');
  if (values.environment) return `/environments/${asId(values.environment, '--environment')}`;
  if (values.account) return `/accounts/${asId(values.account, '--account')}`;
  const me = await client.call<Me>('GET', '/me');
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
    // With --json stderr holds nothing but an error line; the result names the environment.
    if (!values.json) note(`using environment ${environments[0]!.name} (${environments[0]!.id})`);
    return `/environments/${environments[0]!.id}`;
  }
  if (environments.length === 0) throw new UsageError('you administer no environment; give --account ID for account-level keypairs');
  throw new UsageError(`you administer several environments; pick one with --environment:\n${environments.map((environment) => `  ${environment.id}  ${environment.name}`).join('\n')}`);
}

/**
 * A keypair without scopes gets no token (invalid_target), so create refuses to make
 * one by omission; granting the default server's every scope instead would hand out
 * `write` to someone who asked for nothing. `--scopes ""` still makes one on purpose.
 */
async function scopesNeeded(client: AdminClient): Promise<UsageError> {
  const servers = await client.call<Page<{ identifier: string; isDefault?: boolean; scopes: Array<{ name: string }> }>>('GET', '/resource-servers');
  const fallback = servers.data.find((server) => server.isDefault);
  const offer = fallback ? `; the default resource server ${fallback.identifier} has: ${fallback.scopes.map((scope) => scope.name).join(' ')}` : '';
  return new UsageError(`keypairs create needs --scopes "..." or --grant URI=scope,...: without them its token requests fail with invalid_target${offer}`);
}

/** `keygate keypairs create|list|show|update|disable|enable|rotate|delete|events|usage` */
export const keypairs = defineAdminCommand({
  name: 'keypairs',
  flags: KEYPAIR_FLAGS,
  async run(client, action, id, values) {
    switch (action) {
      case 'create': {
        const grants = parseGrantOptions(values.grant);
        if (values.scopes === undefined && !grants) throw await scopesNeeded(client);
        const scopes = words(values.scopes);
        const body = {
          name: requireValue(values.name, '--name'),
          ...(scopes && { scopes }),
          ...(grants && { grants }),
          ...(values.comment !== undefined && { comment: values.comment }),
          ...expiry(values.expires),
          ...guards(values),
          ...(await credential(values)),
          ...dpop(values),
        };
        const created = await client.call<Keypair>('POST', `${await owner(client, values)}/keypairs`, body);
        if (values.json) return created;
        return created.clientSecret === undefined ? showCreated(created) : showSecret(client, created, 'Created');
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
          ...(await credentialUpdate(values)),
          ...dpop(values),
        };
        if (Object.keys(body).length === 0) {
          throw new UsageError('update takes --name, --comment, --scopes, --grant, --rate-limit, --allowed-ips, --auto-disable, --public-key, --subject, --claim or --(no-)require-dpop');
        }
        const keypair = await client.call<Keypair>('PATCH', `/keypairs/${requireId(id, 'keypair')}`, body);
        return values.json ? keypair : showKeypair(keypair);
      }
      case 'rotate': {
        if (values.grace !== undefined && !/^\d+$/.test(values.grace)) throw new UsageError('--grace takes a whole number of seconds');
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
        throw new UsageError('keypairs takes create, list, show, update, disable, enable, rotate, delete, events or usage');
    }
  },
});
