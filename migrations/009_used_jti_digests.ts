import type { Knex } from 'knex';

/**
 * used_jtis keeps the SHA-256 of each jti, not the jti: the client picks it, and a NUL,
 * a lone surrogate or 3,000 characters in one would fail the batched INSERT of every
 * request waiting with it. A digest has one length and one spelling. Rows written
 * before hold raw jtis and expire within minutes (a client assertion lives at most 5).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    COMMENT ON COLUMN used_jtis.issuer IS 'Whose JWT ids: a keypair''s client_id (its client assertions), or oidc-provider:<client_id> (its DPoP proofs).';
    COMMENT ON COLUMN used_jtis.jti IS 'SHA-256 of the JWT''s jti, base64url: a fixed length whatever the client sent.';
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    COMMENT ON COLUMN used_jtis.issuer IS 'Who minted the JWT: a keypair''s client_id, a trusted issuer, or dpop:<key thumbprint>.';
    COMMENT ON COLUMN used_jtis.jti IS NULL;
  `);
}
