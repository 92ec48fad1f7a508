/** How `keygate keypairs` shows keypairs, their events and their usage to a person. */
import type { AdminClient } from '../admin_client.js';
import type { AuditEvent, Keypair, Usage } from '../api_types.js';
import { fields, plain, table } from '../format.js';

/** Grants as `--grant` takes them: `URI=scope,scope`, space-separated. */
function grantsText(keypair: Keypair): string {
  return keypair.grants.map((grant) => `${grant.resourceServer}=${grant.scopes.join(',')}`).join(' ');
}

export function keypairRow(keypair: Keypair): Record<string, string> {
  return {
    CLIENT_ID: keypair.clientId,
    NAME: keypair.name,
    STATE: keypair.enabled ? 'enabled' : 'disabled',
    GRANTS: grantsText(keypair),
    SECRET: keypair.secretHint ?? '',
    LAST_USED: keypair.lastUsedAt ?? 'never',
    EXPIRES: keypair.expiresAt ?? 'never',
    CREATED_BY: keypair.createdBy,
    // Last, so scripts that cut the columns before it read them where they always were.
    TYPE: keypair.credentialType,
  };
}

/** What an event changed, as `field=value` pairs (the `after` side). */
export function eventRow(event: AuditEvent): Record<string, string> {
  const after = typeof event.after === 'object' && event.after !== null ? Object.entries(event.after) : [];
  return {
    AT: event.at,
    ACTION: event.action,
    ACTOR: event.actor.email ?? event.actor.id ?? event.actor.type,
    IP: event.ip ?? '',
    CHANGES: after.map(([key, value]) => `${key}=${plain(value) || '""'}`).join(', '),
  };
}

export function showKeypair(keypair: Keypair): string {
  return fields([
    ['client_id', keypair.clientId],
    ['name', keypair.name],
    ['comment', keypair.comment],
    ['state', keypair.enabled ? 'enabled' : `disabled${keypair.disabledReason ? ` (${keypair.disabledReason})` : ''}`],
    ['grants', grantsText(keypair) || 'none'],
    ['credential', credentialText(keypair)],
    ...(keypair.credentialType === 'secret' ? [['secret', keypair.secretHint] as [string, unknown]] : []),
    ...keypair.publicKeys.map((key, index): [string, unknown] => [`key ${index + 1}`, `${key.thumbprint} ${key.jwk.kty}${key.jwk.crv ? ` ${key.jwk.crv}` : ''}${key.jwk.kid ? ` kid=${key.jwk.kid}` : ''} added ${key.addedAt}`]),
    ...(keypair.federation
      ? ([
          ['issuer', keypair.federation.issuer],
          ['subject', keypair.federation.subject],
          ['claims', Object.entries(keypair.federation.claims).map(([name, value]) => `${name}=${value}`).join(' ') || 'none'],
        ] as Array<[string, unknown]>)
      : []),
    ['DPoP', keypair.requireDpop ? 'required' : 'optional'],
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
export function showUsage(clientId: string, usage: Usage): string {
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

/** How the keypair's client authenticates, in words. */
function credentialText(keypair: Keypair): string {
  if (keypair.credentialType === 'public_key') return `public key (private_key_jwt), ${keypair.publicKeys.length} key${keypair.publicKeys.length === 1 ? '' : 's'}`;
  if (keypair.credentialType === 'federated') return 'federated (a trusted issuer\'s token as client_assertion)';
  return 'secret';
}

/** A keypair created with no secret: nothing to show once, so the keypair itself. */
export function showCreated(keypair: Keypair): string {
  return `Created keypair ${keypair.name} (no secret: ${keypair.credentialType === 'public_key' ? 'its client signs client assertions with its private key' : "its workload's platform token authenticates it"})\n${showKeypair(keypair)}`;
}

/** The secret, once, with the warning and a curl that uses it. */
export function showSecret(client: AdminClient, keypair: Keypair, verb: string): string {
  return `${verb} keypair ${keypair.name}\n${fields([
    ['client_id', keypair.clientId],
    ['client_secret', keypair.clientSecret],
  ])}\nThis secret is shown once and cannot be shown again: store it now.\n\nFetch a token with it:\n  curl -s -u "${keypair.clientId}:${keypair.clientSecret}" -d grant_type=client_credentials ${client.baseUrl}/token\n`;
}
