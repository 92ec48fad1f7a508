import { createHash, randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { KeygateError, type FieldError } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import { findTrustedIssuerId, type Federation } from './federation.js';
import type { KeylessCredentialInput, UpdateKeypairInput } from './inputs.js';
import { storedPublicKeys, type StoredPublicKey } from './public_keys.js';
import type { CredentialType, Keypair, KeypairChanges, NewKeypairRow, NewSecretRow } from './store.js';

/**
 * The parts of creating and changing a keypair that has no secret (public_key,
 * federated), kept out of service.ts: checking the credential, the columns it fills,
 * and how audit events and notices name it (thumbprints, issuer and subject: never a
 * whole key).
 */

/** A keyless credential checked and resolved: what the keypairs row will hold. */
export interface ResolvedCredential {
  readonly credentialType: CredentialType;
  readonly publicKeys: readonly StoredPublicKey[];
  readonly federation: Federation | null;
}

/**
 * Checks a create's keyless credential (keys loaded, thumbprints, the trusted issuer
 * found): the resolved credential, or the errors naming `publicKeys[i]` or
 * `federation.issuer`. Reads trusted_issuers in `trx`.
 */
export async function resolveCredential(trx: Knex.Transaction, credential: KeylessCredentialInput, now: Date): Promise<{ credential?: ResolvedCredential; errors: FieldError[] }> {
  if (credential.publicKeys) {
    const { keys, errors } = await storedPublicKeys('publicKeys', credential.publicKeys, now);
    return errors.length > 0 ? { errors } : { credential: { credentialType: 'public_key', publicKeys: keys, federation: null }, errors };
  }
  const { issuer, subject, claims } = credential.federation;
  // The trusted_issuers table is the operators' (another service); a keypair only needs its id.
  const issuerId = await findTrustedIssuerId(trx, issuer);
  if (issuerId === undefined) return { errors: [{ field: 'federation.issuer', message: 'is not a trusted issuer: an operator adds it first (POST /admin/v1/trusted-issuers)' }] };
  return { credential: { credentialType: 'federated', publicKeys: [], federation: { issuerId, issuer, subject, claims: { ...claims } } }, errors: [] };
}

/** The keypairs columns of a resolved keyless credential. */
export function credentialColumns(credential: ResolvedCredential): Partial<NewKeypairRow> {
  return {
    credential_type: credential.credentialType,
    public_keys: JSON.stringify(credential.publicKeys),
    federation_issuer_id: credential.federation?.issuerId ?? null,
    federation_subject: credential.federation?.subject ?? null,
    federation_claims: JSON.stringify(credential.federation?.claims ?? {}),
  };
}

/**
 * The one keypair_secrets row of a keyless keypair: the digest of 32 random bytes
 * nobody is given or keeps, so it never authenticates anyone. It exists for its
 * status-list index, which tokens carry and a disable revokes, as for a secret.
 */
export function unusableSecretRow(clientId: string, now: Date): NewSecretRow {
  return { id: newId('secret'), client_id: clientId, secret_sha256: createHash('sha256').update(randomBytes(32)).digest(), last4: 'none', created_at: now };
}

/** How an audit event or notice names a keypair's credential: thumbprints, or issuer, subject and claims. */
export function credentialSummary(keypair: { credentialType: CredentialType; publicKeys: readonly StoredPublicKey[]; federation: Federation | null }) {
  return {
    credentialType: keypair.credentialType,
    ...(keypair.credentialType === 'public_key' && { thumbprints: keypair.publicKeys.map((key) => key.thumbprint) }),
    ...(keypair.federation && { federation: federationSummary(keypair.federation) }),
  };
}

const federationSummary = (federation: Federation) => ({ issuer: federation.issuer, subject: federation.subject, claims: federation.claims });

/** A field's value as an update audit event records it: thumbprints for keys, never a whole key. */
export function auditValue(keypair: Keypair, field: keyof Keypair): unknown {
  if (field === 'publicKeys') return keypair.publicKeys.map((key) => key.thumbprint);
  if (field === 'federation') return keypair.federation && federationSummary(keypair.federation);
  return keypair[field];
}

/**
 * A PATCH's `publicKeys`, `federation` and `requireDpop` against the keypair as it is:
 * the row changes and the keypair's new values, or a 409 when keys or a federation are
 * given for a keypair of another credential type, or errors naming `publicKeys[i]`.
 */
export async function keylessChanges(before: Keypair, input: UpdateKeypairInput, now: Date): Promise<{ changes: KeypairChanges; after: Partial<Keypair>; errors: FieldError[] }> {
  const mismatch = (field: string, wanted: CredentialType) =>
    new KeygateError('conflict', `The keypair's credential type is ${before.credentialType}: ${field} applies to a ${wanted} keypair only.`);
  if (input.publicKeys !== undefined && before.credentialType !== 'public_key') throw mismatch('publicKeys', 'public_key');
  if (input.federation !== undefined && before.credentialType !== 'federated') throw mismatch('federation', 'federated');

  const changes: KeypairChanges = {};
  const after: { -readonly [K in keyof Keypair]?: Keypair[K] } = {};
  const errors: FieldError[] = [];
  if (input.publicKeys !== undefined) {
    const stored = await storedPublicKeys('publicKeys', input.publicKeys, now, before.publicKeys);
    errors.push(...stored.errors);
    changes.public_keys = JSON.stringify(stored.keys);
    after.publicKeys = stored.keys;
  }
  if (input.federation !== undefined && before.federation) {
    const federation = { ...before.federation, ...(input.federation.subject !== undefined && { subject: input.federation.subject }), ...(input.federation.claims !== undefined && { claims: { ...input.federation.claims } }) };
    changes.federation_subject = federation.subject;
    changes.federation_claims = JSON.stringify(federation.claims);
    after.federation = federation;
  }
  if (input.requireDpop !== undefined) {
    changes.require_dpop = input.requireDpop;
    after.requireDpop = input.requireDpop;
  }
  return { changes, after, errors };
}
