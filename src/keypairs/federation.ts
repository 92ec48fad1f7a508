import type { Knex } from 'knex';

/**
 * What a federated keypair accepts: a token of one trusted issuer, with this `sub`
 * and these claims. The trusted issuers themselves are the operators' (their own
 * service); a keypair only needs to find one by its `issuer` URL.
 */

/** Claims a federated keypair may require besides the subject (GitHub's repository, ref, environment...). */
export const MAX_FEDERATION_CLAIMS = 10;
export const FEDERATION_SUBJECT_MAX_LENGTH = 1024;
export const FEDERATION_CLAIM_NAME_MAX_LENGTH = 100;
export const FEDERATION_CLAIM_VALUE_MAX_LENGTH = 1024;
/** Claims Keygate checks itself from the trusted issuer's settings: requiring a value of them here would be a second, conflicting rule. */
export const RESERVED_CLAIMS = ['iss', 'sub', 'aud', 'exp', 'nbf', 'iat', 'jti'] as const;

export interface Federation {
  readonly issuerId: string;
  /** The trusted issuer's `issuer` (the tokens' `iss`). */
  readonly issuer: string;
  readonly subject: string;
  readonly claims: Readonly<Record<string, string>>;
}

/** The id of the trusted issuer whose `issuer` is exactly `issuer`, or undefined. Locked (KEY SHARE) so that it cannot be deleted before the keypair that names it commits. */
export async function findTrustedIssuerId(trx: Knex.Transaction, issuer: string): Promise<string | undefined> {
  const row = (await trx('trusted_issuers').where({ issuer }).forKeyShare().first('id')) as { id: string } | undefined;
  return row?.id;
}
