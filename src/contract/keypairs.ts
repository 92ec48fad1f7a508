import Type, { type Static } from 'typebox';
import { canonicalIpEntry } from '../keypairs/ip_allowlist.js';
import { FEDERATION_CLAIM_NAME_MAX_LENGTH, FEDERATION_CLAIM_VALUE_MAX_LENGTH, FEDERATION_SUBJECT_MAX_LENGTH, MAX_FEDERATION_CLAIMS, RESERVED_CLAIMS } from '../keypairs/federation.js';
import { MAX_PUBLIC_KEYS, MIN_RSA_MODULUS_BITS, publicJwkOf, type PublicJwk } from '../keypairs/public_keys.js';
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
import { unstorableText } from './text.js';
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

/** One public JWK as sent: reduced to its public members (public_keys.ts), or refused naming `publicKeys[i]`. */
// Open on purpose (a JWK may carry use, key_ops, x5c...: dropped), so described without `properties`.
const publicJwkInput = refine(
  Type.Unsafe<PublicJwk>({
    type: 'object',
    description: `A public JWK: EC P-256 or P-384, RSA of ${MIN_RSA_MODULUS_BITS} bits or more, or OKP Ed25519. A JWK with private members (d, p, q, dp, dq, qi, k, oth) is refused. Only kty, crv, x, y, n, e, kid and alg are kept (alg, when given, must be one the key signs with).`,
  }),
  { parse: publicJwkOf },
);

const publicKeysInput = (description: string) =>
  refine(Type.Array(publicJwkInput, { minItems: 1, maxItems: MAX_PUBLIC_KEYS, description }), { eachItem: true, typeMessage: 'must be an array of public JWKs' });

/** Required claims: names to string values, at most MAX_FEDERATION_CLAIMS. */
const federationClaimsInput = refine(
  Type.Record(Type.String({ minLength: 1, maxLength: FEDERATION_CLAIM_NAME_MAX_LENGTH }), Type.String({ maxLength: FEDERATION_CLAIM_VALUE_MAX_LENGTH }), {
    maxProperties: MAX_FEDERATION_CLAIMS,
    description: `Claims the token must carry with exactly these string values (GitHub's repository, ref, environment...); at most ${MAX_FEDERATION_CLAIMS}, none of ${RESERVED_CLAIMS.join(', ')}. Absent: none.`,
  }),
  {
    parse: (value) => {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, message: 'must be an object of claim names and string values' };
      const entries = Object.entries(value);
      if (entries.length > MAX_FEDERATION_CLAIMS) return { ok: false, message: `must have at most ${MAX_FEDERATION_CLAIMS} claims` };
      for (const [name, claim] of entries) {
        if (name.length === 0 || name.length > FEDERATION_CLAIM_NAME_MAX_LENGTH || unstorableText(name)) return { ok: false, message: `has a claim name that is not 1 to ${FEDERATION_CLAIM_NAME_MAX_LENGTH} storable characters` };
        if ((RESERVED_CLAIMS as readonly string[]).includes(name)) return { ok: false, message: `must not name "${name}": Keygate checks it itself (the subject, the trusted issuer's issuer and audience, the token's times)` };
        if (typeof claim !== 'string' || claim.length > FEDERATION_CLAIM_VALUE_MAX_LENGTH || unstorableText(claim)) {
          return { ok: false, message: `"${name}" must be a string of at most ${FEDERATION_CLAIM_VALUE_MAX_LENGTH} storable characters` };
        }
      }
      return { ok: true, value: Object.fromEntries(entries) };
    },
  },
);

const federationSubject = () => Type.String({ minLength: 1, maxLength: FEDERATION_SUBJECT_MAX_LENGTH, description: "The `sub` the token must carry, exactly (e.g. `system:serviceaccount:payments:api`, `repo:acme/api:ref:refs/heads/main`)." });

const federationCreateInput = refine(
  closed(
    {
      issuer: Type.String({ minLength: 1, maxLength: 2048, description: "A trusted issuer's `issuer` URL, exactly (else 400 naming `federation.issuer`)." }),
      subject: federationSubject(),
      claims: optional(federationClaimsInput),
    },
    { description: "Tokens of a trusted issuer (a Kubernetes cluster, GitHub Actions) with this subject and these claims authenticate the keypair's client." },
  ),
  { typeMessage: 'must be {"issuer", "subject", "claims"}' },
);

const federationUpdateInput = refine(
  closed(
    {
      issuer: optional(Type.String({ description: 'Not changeable: a keypair for another issuer is a new keypair (400 if given).' })),
      subject: optional(federationSubject()),
      claims: optional(federationClaimsInput),
    },
    { description: 'Only on a federated keypair (else 409). `claims` replaces every required claim.' },
  ),
  {
    typeMessage: 'must be {"subject", "claims"}',
    rules: [{ reads: ['issuer'], field: 'issuer', check: (federation) => (federation.issuer !== undefined ? 'cannot change: create a new keypair for another trusted issuer' : undefined) }],
  },
);

const requireDpopInput = () => optional(Type.Boolean({ description: 'Tokens only with a DPoP proof (RFC 9449), bound to its key. Default false.' }));

/** The credential a keypair is created with: a secret (neither field), its own public keys, or a trusted issuer's tokens. */
const BOTH_CREDENTIALS = { reads: ['publicKeys', 'federation'], field: 'federation', check: (body: Record<string, unknown>) => (body.publicKeys !== undefined && body.federation !== undefined ? 'give publicKeys or federation, not both' : undefined) };

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
      publicKeys: optional(publicKeysInput(`1 to ${MAX_PUBLIC_KEYS} public JWKs instead of a secret: the client authenticates with private_key_jwt. Each bad key is named \`publicKeys[i]\`; a key given twice (same RFC 7638 thumbprint) is refused.`)),
      federation: optional(federationCreateInput),
      requireDpop: requireDpopInput(),
    },
    {
      dependentSchemas: { expiresIn: { properties: { expiresAt: false } }, publicKeys: { properties: { federation: false } } },
      description: '`expiresAt` or `expiresIn`, not both. `publicKeys` or `federation` (no secret then: the answer has no `clientSecret`), not both.',
    },
  ),
  {
    rules: [
      { reads: ['expiresAt', 'expiresIn'], field: 'expiresIn', check: (body) => (body.expiresAt !== undefined && body.expiresIn !== undefined ? 'give expiresAt or expiresIn, not both' : undefined) },
      BOTH_CREDENTIALS,
    ],
  },
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
      publicKeys: optional(
        publicKeysInput(`Replaces the keys of a public_key keypair (else 409): 1 to ${MAX_PUBLIC_KEYS}, a key kept keeps its \`addedAt\`. Rotate by adding the new key, then removing the old one later.`),
      ),
      federation: optional(federationUpdateInput),
      requireDpop: requireDpopInput(),
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
  secretHint: nullable(Type.String({ pattern: '^kgs_••••[0-9A-Za-z]{4}$' }), 'The current secret: prefix and last four characters, e.g. `kgs_••••a1b2`; null for a keypair with no secret.'),
  credentialType: Type.Union([Type.Literal('secret'), Type.Literal('public_key'), Type.Literal('federated')], {
    description: 'How its client authenticates: `secret` (client_secret_basic/post), `public_key` (private_key_jwt with one of `publicKeys`), `federated` (a trusted issuer\'s token as client_assertion).',
  }),
  publicKeys: Type.Array(
    closed({
      thumbprint: Type.String({ pattern: '^[A-Za-z0-9_-]{43}$', description: 'RFC 7638 SHA-256 thumbprint, base64url: the key\'s hint.' }),
      jwk: closed({ kty: Type.String(), crv: Type.Optional(Type.String()), x: Type.Optional(Type.String()), y: Type.Optional(Type.String()), n: Type.Optional(Type.String()), e: Type.Optional(Type.String()), kid: Type.Optional(Type.String()), alg: Type.Optional(Type.String()) }),
      addedAt: timestamp,
    }),
    { maxItems: MAX_PUBLIC_KEYS, description: 'A public_key keypair\'s keys, oldest first; empty for the others.' },
  ),
  federation: nullable(
    closed({ issuer: Type.String(), subject: Type.String(), claims: Type.Record(Type.String(), Type.String()) }),
    'A federated keypair\'s trusted issuer (its `issuer` URL), subject and required claims; null for the others.',
  ),
  requireDpop: Type.Boolean({ description: 'Tokens only with a DPoP proof (RFC 9449).' }),
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
  {
    ...KEYPAIR_PROPERTIES,
    clientSecret: optional(Type.String({ pattern: '^kgs_[0-9A-Za-z]{49}$', description: 'The secret, returned this once only: store it now. Absent when a public_key or federated keypair is created: it has none.' })),
  },
  { description: 'A keypair with the secret just minted (create and rotate only; a keypair created with no secret comes without one).' },
);
export const KeypairListSchema = listOf(KeypairSchema, 'Keypairs, oldest first.');

export type KeypairView = Static<typeof KeypairSchema>;
/** What create and rotate answer: the keypair and its new secret. */
export type KeypairWithSecretView = Static<typeof KeypairWithSecretSchema>;
export type RotateResultView = KeypairWithSecretView;
export type KeypairListView = Static<typeof KeypairListSchema>;
