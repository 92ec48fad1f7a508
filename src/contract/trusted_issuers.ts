import { createPublicKey } from 'node:crypto';
import Type, { type Static } from 'typebox';
import { isLoopbackHost, PRIVATE_JWK_MEMBERS } from '../shared/jwk.js';
import { MAX_TRUSTED_ISSUER_KEYS, TRUSTED_ISSUER_AUDIENCE_MAX_LENGTH, TRUSTED_ISSUER_URL_MAX_LENGTH } from '../shared/limits.js';
import { closed, entityName, idOf, listOf, nullable, timestamp } from './common.js';
import { optional, refine, type FieldRule } from './validate.js';

/**
 * Trusted issuers: the platforms (a Kubernetes cluster, GitHub Actions, any OIDC
 * issuer) whose tokens federated keypairs present instead of a secret.
 */

/** An https URL (http on a loopback host), or why not. */
function checkIssuerUrl(value: unknown, what: 'issuer' | 'jwksUri'): { ok: true; value: string } | { ok: false; message: string } {
  if (typeof value !== 'string' || value.length === 0 || value.length > TRUSTED_ISSUER_URL_MAX_LENGTH) return { ok: false, message: `must be a URL of at most ${TRUSTED_ISSUER_URL_MAX_LENGTH} characters` };
  const url = URL.parse(value);
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) return { ok: false, message: 'must be an https URL' };
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) return { ok: false, message: 'must be an https URL (http only on a loopback host: 127.0.0.0/8, ::1, localhost)' };
  if (url.username || url.password) return { ok: false, message: 'must not carry credentials' };
  if (url.hash || value.includes('#')) return { ok: false, message: 'must not have a fragment' };
  // OpenID Connect Discovery 1.0 §3: an issuer is a URL without query or fragment.
  if (what === 'issuer' && url.search) return { ok: false, message: 'must not have a query (OpenID Connect Discovery §3)' };
  // Stored exactly as given: a token's iss must equal it character for character.
  return { ok: true, value };
}

/** One public JWK, as the issuer publishes it, or why not. */
function checkPublicJwk(value: unknown): { ok: true; value: unknown } | { ok: false; message: string } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, message: 'must be a JWK (an object)' };
  const jwk = value as Record<string, unknown>;
  const privateMembers = PRIVATE_JWK_MEMBERS.filter((member) => Object.hasOwn(jwk, member));
  if (privateMembers.length > 0) return { ok: false, message: `must be a public key: remove its private member${privateMembers.length > 1 ? 's' : ''} ${privateMembers.join(', ')}` };
  if (jwk.kty !== 'RSA' && jwk.kty !== 'EC' && jwk.kty !== 'OKP') return { ok: false, message: 'must have kty RSA, EC or OKP' };
  if (jwk.kid !== undefined && typeof jwk.kid !== 'string') return { ok: false, message: 'must have a string kid' };
  try {
    // Node reads it as jose would at token time: a key it cannot import is refused now, not then.
    createPublicKey({ key: jwk as import('node:crypto').JsonWebKey, format: 'jwk' });
  } catch {
    return { ok: false, message: `is not a valid ${jwk.kty} public key` };
  }
  return { ok: true, value: jwk };
}

const jwkSchema = refine(Type.Unsafe<Record<string, unknown>>({ type: 'object', description: 'A public JWK (RSA, EC or OKP); private members are refused.' }), { parse: checkPublicJwk });

const atLeastOneKey: FieldRule = { reads: ['keys'], field: 'keys', check: (body) => (Array.isArray(body.keys) && body.keys.length === 0 ? 'must hold at least one key' : undefined) };

/** An inline JWK Set: what `kubectl get --raw /openid/v1/jwks` prints. */
const JwksInputSchema = refine(
  closed({
    keys: refine(Type.Array(jwkSchema, { maxItems: MAX_TRUSTED_ISSUER_KEYS, description: `1 to ${MAX_TRUSTED_ISSUER_KEYS} public JWKs.` }), { eachItem: true }),
  }, { description: 'A JWK Set of the public keys its tokens are signed with, for an issuer Keygate cannot reach.' }),
  { typeMessage: 'must be a JWK Set: {"keys": [...]}', rules: [atLeastOneKey] },
);

const url = (what: 'issuer' | 'jwksUri', description: string) =>
  refine(Type.String({ format: 'uri', maxLength: TRUSTED_ISSUER_URL_MAX_LENGTH, description }), { parse: (value) => checkIssuerUrl(value, what) });

const issuer = () => url('issuer', "The tokens' `iss`, exactly: an https URL (http only on a loopback host), without query or fragment. Unique.");
const jwksUri = () => url('jwksUri', 'Where its public keys are (https; http only on a loopback host).');
const audience = () => Type.String({ minLength: 1, maxLength: TRUSTED_ISSUER_AUDIENCE_MAX_LENGTH });

const notBoth: FieldRule = {
  reads: ['jwksUri', 'jwks'],
  field: 'jwks',
  check: (body) => (body.jwksUri != null && body.jwks != null ? 'must not be given with jwksUri: the keys come from one or the other' : undefined),
};

const JWKS_DEFAULT = 'Neither `jwksUri` nor `jwks`: the `jwks_uri` of `<issuer>/.well-known/openid-configuration`, read at token time.';

export const TrustedIssuerSchema = closed({
  id: idOf('ti', 'Trusted issuer id.'),
  issuer: Type.String({ description: "The tokens' `iss`, exactly." }),
  name: Type.String(),
  jwksUri: nullable(Type.String(), `Where its keys are fetched. ${JWKS_DEFAULT}`),
  jwks: nullable(closed({ keys: Type.Array(Type.Unsafe<Record<string, unknown>>({ type: 'object', description: 'A public JWK.' })) }), 'Its public keys inline; null: fetched.'),
  audience: nullable(Type.String(), "The `aud` its tokens must carry; null: Keygate's ISSUER."),
  keypairCount: Type.Integer({ minimum: 0, description: 'Federated keypairs that accept its tokens (for an admin who is no operator: those it manages). It cannot be deleted while any do.' }),
  createdAt: timestamp,
  updatedAt: timestamp,
  version: Type.Integer({ minimum: 1, description: 'Bumped by every change; the ETag.' }),
});
export const TrustedIssuerListSchema = listOf(TrustedIssuerSchema, 'Every trusted issuer, oldest first; one page (`nextCursor` is null).');

export type TrustedIssuerView = Static<typeof TrustedIssuerSchema>;
export type TrustedIssuerListView = Static<typeof TrustedIssuerListSchema>;

// Request bodies.

const jwksInput = (description: string) => nullable(JwksInputSchema, description);

export const TrustedIssuerCreateSchema = refine(
  closed({
    issuer: issuer(),
    name: entityName(),
    jwksUri: optional(nullable(jwksUri(), `Not with \`jwks\`. ${JWKS_DEFAULT}`)),
    jwks: optional(jwksInput(`At most ${MAX_TRUSTED_ISSUER_KEYS} public keys; not with \`jwksUri\`.`)),
    audience: optional(nullable(audience(), "The `aud` its tokens must carry; null or absent: Keygate's ISSUER.")),
  }),
  { rules: [notBoth] },
);

export const TrustedIssuerUpdateSchema = refine(
  closed({
    issuer: optional(issuer()),
    name: optional(entityName()),
    jwksUri: optional(nullable(jwksUri(), 'Replaces the keys\' source (and drops inline `jwks`); null with `jwks` null: discovery.')),
    jwks: optional(jwksInput('Replaces the keys\' source (and drops `jwksUri`); null with `jwksUri` null: discovery.')),
    audience: optional(nullable(audience(), "null: Keygate's ISSUER.")),
  }, { description: 'Fields left out keep their value. Every keypair that accepts its tokens is re-read by every process.' }),
  { rules: [notBoth] },
);

export type TrustedIssuerCreateBody = Static<typeof TrustedIssuerCreateSchema>;
export type TrustedIssuerUpdateBody = Static<typeof TrustedIssuerUpdateSchema>;
export type JwksInput = Static<typeof JwksInputSchema>;
