import Type, { type Static } from 'typebox';
import { closed, dateTimeInput, idOf, listOf, nullable, nullableIdOf, timestamp } from './common.js';
import { CURSOR_MAX_LENGTH, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, QUERY_TEXT_MAX_LENGTH } from '../shared/limits.js';
import { optional } from './validate.js';

/*
 * What a keypair did and what was done to it: its usage summary, the audit history,
 * and the query parameters of the lists.
 */

const count = () => Type.Integer({ minimum: 0 });
const windowTotals = (description?: string) => closed({ issued: count(), refused: count() }, description === undefined ? {} : { description });

export const KeypairUsageSchema = closed(
  {
    clientId: idOf('kp', 'The keypair.'),
    generatedAt: timestamp,
    last24h: windowTotals('Token requests in the current hour and the 23 before it.'),
    last7d: windowTotals('Token requests in the current hour and the 167 before it.'),
    refusalsByReason: Type.Array(
      closed({
        reason: Type.String({ description: '`secret_mismatch`, `secret_retired`, `ip_not_allowed`, `rate_limited`, `keypair_disabled`, `keypair_expired`; for keypairs with no secret `secret_not_accepted`, `assertion_not_accepted`, `assertion_invalid`, `assertion_expired`, `assertion_replayed`, `assertion_key_unknown`, `assertion_audience_mismatch`, `assertion_issuer_mismatch`, `federation_subject_mismatch`, `federation_claim_mismatch`, `issuer_unreachable`; `dpop_required`, `dpop_replayed`; or the OAuth error (`invalid_scope`, `invalid_target`, `invalid_dpop_proof`, ...).' }),
        last24h: count(),
        last7d: count(),
      }),
      { description: 'Most frequent first (7 days), at most 10.' },
    ),
    topResources: Type.Array(closed({ resource: Type.String({ description: 'A resource server identifier, or `other` for one Keygate does not know.' }), last24h: windowTotals(), last7d: windowTotals() }), { description: 'At most 10.' }),
    topScopes: Type.Array(closed({ scope: Type.String({ description: 'A scope, or `other` for one no resource server defines.' }), last24h: windowTotals(), last7d: windowTotals() }), { description: 'At most 10.' }),
    hourly: Type.Array(closed({ hour: timestamp, issued: count(), refused: count() }), { minItems: 24, maxItems: 24, description: 'The last 24 hours, oldest first, the current hour last.' }),
    recentRequests: Type.Array(
      closed({
        at: timestamp,
        outcome: Type.Union([Type.Literal('issued'), Type.Literal('refused')]),
        error: nullable(Type.String(), 'The OAuth error returned; null when issued.'),
        reason: nullable(Type.String(), 'Why it was refused; null when issued.'),
        ip: nullable(Type.String()),
        userAgent: nullable(Type.String()),
        scope: nullable(Type.String(), 'The scope requested (for an issued token that asked none, the scopes granted).'),
        resource: nullable(Type.String()),
      }),
      {
        maxItems: 20,
        description:
          'The last 20 token requests the log kept, newest first. Refusals without a live secret (secret_mismatch, secret_retired, keypair_disabled, keypair_expired) are kept at most 10 per keypair and minute; the totals and refusals count them all.',
      },
    ),
  },
  { description: "A keypair's usage: is it used, from where, and what fails." },
);

export const AuditEventSchema = closed(
  {
    id: idOf('evt', 'Event id.'),
    at: timestamp,
    action: Type.String({ description: 'e.g. `keypair.created`, `keypair.rotated`, `membership.granted`.' }),
    actor: closed({
      type: Type.Union([Type.Literal('user'), Type.Literal('operator'), Type.Literal('system')]),
      id: nullable(Type.String(), 'The user id; null for the system.'),
      email: nullable(Type.String(), "The user's current email; null for the system or a removed user."),
      name: nullable(Type.String()),
    }),
    target: closed({ type: Type.String({ description: '`keypair`, `account`, `environment`, `user`, `resource_server` or `trusted_issuer`.' }), id: Type.String() }),
    accountId: nullableIdOf('acc', 'Null for events outside any account (users, resource servers, trusted issuers).'),
    environmentId: nullableIdOf('env', 'Null unless the event concerns one environment.'),
    before: Type.Unsafe<unknown>({ type: ['object', 'null'], description: 'The changed fields before the change; never a secret.' }),
    after: Type.Unsafe<unknown>({ type: ['object', 'null'], description: 'The changed fields after the change; never a secret.' }),
    ip: nullable(Type.String()),
    userAgent: nullable(Type.String()),
  },
  { description: 'One entry of the append-only history.' },
);
export const AuditEventListSchema = listOf(AuditEventSchema, 'History, newest first.');

export type KeypairUsageView = Static<typeof KeypairUsageSchema>;
export type UsageSummaryView = KeypairUsageView;
export type AuditEventView = Static<typeof AuditEventSchema>;
export type AuditEventListView = Static<typeof AuditEventListSchema>;

// Query parameters: strings on the wire, read as these types (validate.ts validateQuery).
const limit = () => Type.Integer({ minimum: 1, maximum: MAX_PAGE_SIZE, default: DEFAULT_PAGE_SIZE, description: 'Page size.' });
const cursor = () => Type.String({ maxLength: CURSOR_MAX_LENGTH, description: 'The `nextCursor` of the previous page.' });
const text = (description: string) => Type.String({ maxLength: QUERY_TEXT_MAX_LENGTH, description });

export const KeypairListQuerySchema = closed({
  limit: optional(limit()),
  cursor: optional(cursor()),
  enabled: optional(Type.Boolean({ description: 'Only enabled (`true`) or disabled (`false`) keypairs.' })),
  q: optional(text('Name contains this, regardless of case.')),
});

export const EventsQuerySchema = closed({
  limit: optional(limit()),
  cursor: optional(cursor()),
  action: optional(text('Only this action, e.g. `keypair.rotated`.')),
  actor: optional(text('Only events by this user id.')),
  environment: optional(text('Only events of this environment id.')),
  from: optional(dateTimeInput('At or after this instant (ISO 8601 with a time zone; URL-encode a `+`).')),
  to: optional(dateTimeInput('Before this instant (ISO 8601 with a time zone; URL-encode a `+`).')),
});
