import Type, { type Static } from 'typebox';
import { canonicalIpEntry } from '../keypairs/ip_allowlist.js';
import { closed, dateTimeInput, entityName, idOf, listOf, nullable, nullableIdOf, nullableTimestamp, scopeToken, timestamp } from './common.js';
import {
  COMMENT_MAX_LENGTH,
  DAY_SECONDS,
  DISABLED_REASON_MAX_LENGTH,
  MAX_ALLOWED_IPS,
  MAX_EXPIRES_IN_SECONDS,
  MAX_GRACE_PERIOD_SECONDS,
  MAX_GRANTS,
  MAX_SCOPES_PER_GRANT,
  MIN_EXPIRES_IN_SECONDS,
  RATE_LIMIT_MAX_PER_MINUTE,
  RATE_LIMIT_MIN_PER_MINUTE,
  RESOURCE_IDENTIFIER_MAX_LENGTH,
} from '../shared/limits.js';
import { optional, refine } from './validate.js';

/** Presets of `expiresIn`, as the product documents offer them, in seconds. */
export const EXPIRY_PRESETS = { '1d': DAY_SECONDS, '7d': 7 * DAY_SECONDS, '30d': 30 * DAY_SECONDS, '90d': 90 * DAY_SECONDS } as const;

/** One grant: scopes of one resource server's catalogue. */
const grant = (scopesDescription: string) =>
  refine(
    closed({
      resourceServer: Type.String({ minLength: 1, maxLength: RESOURCE_IDENTIFIER_MAX_LENGTH, description: "The resource server's `identifier` (the tokens' `aud`)." }),
      // An empty list is shape enough: the catalogue check says how to grant nothing there.
      scopes: refine(Type.Array(scopeToken(), { minItems: 1, maxItems: MAX_SCOPES_PER_GRANT, uniqueItems: true, description: scopesDescription }), {
        eachItem: true,
        repeatMessage: 'repeats an earlier scope',
      }),
    }),
    { typeMessage: 'must be {"resourceServer", "scopes"}' },
  );

const grantsInput = (description: string) =>
  refine(Type.Array(grant('Each defined by that resource server; a grant names at least one.'), { maxItems: MAX_GRANTS, description }), {
    eachItem: true,
    typeMessage: 'must be an array of {"resourceServer", "scopes"}',
  });

const scopesInput = (description: string) => Type.Array(scopeToken(), { maxItems: MAX_SCOPES_PER_GRANT, uniqueItems: true, description });

/** An IPv4/IPv6 address or CIDR range, read in canonical form. */
const ipEntry = refine(Type.String({ description: 'An IPv4 or IPv6 address, or a CIDR range with no bits set past the prefix.' }), {
  parse: (value) => {
    const canonical = typeof value === 'string' ? canonicalIpEntry(value) : undefined;
    return canonical === undefined ? { ok: false, message: 'must be an IPv4 or IPv6 address or a CIDR range such as 203.0.113.0/24 (with no bits set past the prefix)' } : { ok: true, value: canonical };
  },
});

const rateLimitPerMinute = (description: string) => nullable(Type.Integer({ minimum: RATE_LIMIT_MIN_PER_MINUTE, maximum: RATE_LIMIT_MAX_PER_MINUTE }), description);

/** The guards a keypair may set on create and PATCH; null means the server default. */
const guardInputs = () => ({
  rateLimitPerMinute: optional(rateLimitPerMinute('Token requests per minute; null: the server default. Over it the token endpoint answers 429 with Retry-After.')),
  allowedIps: optional(Type.Array(ipEntry, { maxItems: MAX_ALLOWED_IPS, uniqueItems: true, description: 'Replaces the allowlist; empty: anywhere. A request from elsewhere gets invalid_client.' })),
  autoDisable: optional(nullable(Type.Boolean(), 'Disable on sustained failures; null: the server default.')),
});

const EXPIRES_IN_MESSAGE = `must be ${Object.keys(EXPIRY_PRESETS).join(', ')} or a number of seconds from ${MIN_EXPIRES_IN_SECONDS} to ${MAX_EXPIRES_IN_SECONDS}`;

/** `expiresIn` as sent (a preset, seconds, or seconds as a string) in seconds. */
export function expiresInSeconds(value: string | number): number {
  return typeof value === 'string' && value in EXPIRY_PRESETS ? EXPIRY_PRESETS[value as keyof typeof EXPIRY_PRESETS] : Number(value);
}

const expiresIn = refine(
  Type.Union([Type.Union([Type.Literal('1d'), Type.Literal('7d'), Type.Literal('30d'), Type.Literal('90d')]), Type.Integer({ minimum: MIN_EXPIRES_IN_SECONDS, maximum: MAX_EXPIRES_IN_SECONDS }), Type.String({ pattern: '^[0-9]+$' })], {
    description: `A preset or a number of seconds from ${MIN_EXPIRES_IN_SECONDS} to ${MAX_EXPIRES_IN_SECONDS}, counted from now.`,
  }),
  {
    parse: (value) => {
      const seconds = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
      const valid = (typeof value === 'string' && value in EXPIRY_PRESETS) || (Number.isInteger(seconds) && (seconds as number) >= MIN_EXPIRES_IN_SECONDS && (seconds as number) <= MAX_EXPIRES_IN_SECONDS);
      return valid ? { ok: true, value } : { ok: false, message: EXPIRES_IN_MESSAGE };
    },
  },
);

const comment = () => Type.String({ maxLength: COMMENT_MAX_LENGTH });

export const KeypairCreateSchema = refine(
  closed(
    {
      name: entityName(),
      comment: optional(comment()),
      scopes: optional(scopesInput('Shorthand for the grant at the default resource server: each defined by it. Absent with `grants` absent: no grants.')),
      grants: optional(
        grantsInput(
          "One per resource server, each available to the keypair's account (else 400 naming `grants[i].resourceServer`; bad scopes are named `grants[i].scopes[j]`). With `scopes` too, `grants` must not name the default resource server (400 naming `scopes`).",
        ),
      ),
      expiresAt: optional(nullable(dateTimeInput(), 'In the future, and at most 9999-12-31T23:59:59Z. Null or absent (with no `expiresIn`): never expires.')),
      expiresIn: optional(expiresIn),
      ...guardInputs(),
    },
    { dependentSchemas: { expiresIn: { properties: { expiresAt: false } } }, description: '`expiresAt` or `expiresIn`, not both.' },
  ),
  { rules: [{ reads: ['expiresAt', 'expiresIn'], field: 'expiresIn', check: (body) => (body.expiresAt !== undefined && body.expiresIn !== undefined ? 'give expiresAt or expiresIn, not both' : undefined) }] },
);

export const KeypairUpdateSchema = refine(
  closed(
    {
      name: optional(entityName()),
      comment: optional(comment()),
      scopes: optional(scopesInput('Replaces the grant at the default resource server alone (empty: removes it); the other grants stay.')),
      grants: optional(
        grantsInput(
          "One per resource server, each available to the keypair's account (else 400 naming `grants[i].resourceServer`; bad scopes are named `grants[i].scopes[j]`). Replaces every grant. Taking a scope away revokes the tokens issued so far: each live secret gets a fresh status-list index.",
        ),
      ),
      ...guardInputs(),
      enabled: optional(Type.Boolean({ description: 'false disables (tokens are refused from the next request on); true re-enables, within MAX_ACTIVE_KEYPAIRS.' })),
      disabledReason: optional(Type.String({ maxLength: DISABLED_REASON_MAX_LENGTH, description: 'Only with `"enabled": false`.' })),
    },
    { dependentSchemas: { disabledReason: { properties: { enabled: { const: false } }, required: ['enabled'] } } },
  ),
  { rules: [{ reads: ['disabledReason', 'enabled'], field: 'disabledReason', check: (body) => (body.disabledReason !== undefined && body.enabled !== false ? 'goes with "enabled": false' : undefined) }] },
);

export const KeypairRotateSchema = closed({
  gracePeriodSeconds: optional(
    Type.Integer({
      minimum: 0,
      maximum: MAX_GRACE_PERIOD_SECONDS,
      default: 0,
      description: 'How long the previous secret keeps working, in seconds; 0 ends it now. Any older secret ends now either way.',
    }),
  ),
});

export type KeypairCreateBody = Static<typeof KeypairCreateSchema>;
export type KeypairUpdateBody = Static<typeof KeypairUpdateSchema>;
export type KeypairRotateBody = Static<typeof KeypairRotateSchema>;

const KEYPAIR_PROPERTIES = {
  clientId: idOf('kp', 'The OAuth `client_id`.'),
  name: Type.String(),
  comment: Type.String({ description: 'Empty when none was given.' }),
  scopes: Type.Array(scopeToken(), { uniqueItems: true, description: 'The scopes granted at the default resource server (the grant there, as a shorthand); empty when none.' }),
  grants: Type.Array(grant('Scope names granted there.'), { description: 'Every grant, one per resource server, ordered by identifier. A token for a resource server carries only scopes granted there.' }),
  enabled: Type.Boolean(),
  disabledReason: nullable(Type.String(), 'Given with the disable; null while enabled or when none was given.'),
  disabledAt: nullableTimestamp(),
  secretHint: nullable(Type.String({ pattern: '^kgs_••••[0-9A-Za-z]{4}$' }), 'The current secret: prefix and last four characters, e.g. `kgs_••••a1b2`.'),
  lastUsedAt: nullableTimestamp('Last token issued; written in batches, so it may lag by a few seconds.'),
  expiresAt: nullableTimestamp('Null: never expires.'),
  rateLimitPerMinute: rateLimitPerMinute('Token requests per minute; null: the server default (RATE_LIMIT_PER_MINUTE).'),
  allowedIps: Type.Array(Type.String(), { maxItems: MAX_ALLOWED_IPS, description: 'Addresses and CIDR ranges token requests may come from, in canonical form; empty: anywhere.' }),
  autoDisable: nullable(Type.Boolean(), 'Disable on sustained failures; null: the server default (AUTO_DISABLE_DEFAULT).'),
  accountId: idOf('acc', 'The owning account.'),
  environmentId: nullableIdOf('env', 'The owning environment; null for an account-level keypair.'),
  createdBy: Type.String({ description: 'The user id of whoever created it, or `system`.' }),
  createdAt: timestamp,
  updatedAt: timestamp,
  version: Type.Integer({ minimum: 1, description: 'Bumped by every change; the `ETag` and `If-Match` value.' }),
};

export const KeypairSchema = closed(KEYPAIR_PROPERTIES, { description: 'A keypair as the admin API shows it: never its secret, only the hint.' });
export const KeypairWithSecretSchema = closed(
  { ...KEYPAIR_PROPERTIES, clientSecret: Type.String({ pattern: '^kgs_[0-9A-Za-z]{49}$', description: 'The secret, returned this once only: store it now.' }) },
  { description: 'A keypair with the secret just minted (create and rotate only).' },
);
export const KeypairListSchema = listOf(KeypairSchema, 'Keypairs, oldest first.');

export type KeypairView = Static<typeof KeypairSchema>;
/** What create and rotate answer: the keypair and its new secret. */
export type KeypairWithSecretView = Static<typeof KeypairWithSecretSchema>;
export type RotateResultView = KeypairWithSecretView;
export type KeypairListView = Static<typeof KeypairListSchema>;
