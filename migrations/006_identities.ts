import type { Knex } from 'knex';

/**
 * External identities linked to Keygate users: once a token of an ADMIN_TRUSTED_ISSUERS
 * provider has been matched to a user by its verified email, its (`iss`, `sub`) maps to
 * that user from then on, whatever email later tokens carry.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE user_identities (
      issuer      text NOT NULL,
      subject     text NOT NULL,
      user_id     text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      email       text NOT NULL,
      linked_at   timestamptz NOT NULL,
      PRIMARY KEY (issuer, subject)
    );
    COMMENT ON TABLE user_identities IS 'An external identity provider''s subject linked to a Keygate user: admin tokens of that issuer map by (issuer, subject) once linked.';
    COMMENT ON COLUMN user_identities.issuer IS 'The provider''s iss, as configured in ADMIN_TRUSTED_ISSUERS.';
    COMMENT ON COLUMN user_identities.subject IS 'The provider''s sub for this person.';
    COMMENT ON COLUMN user_identities.email IS 'The verified email that linked the identity (for the record; never matched again).';
    CREATE UNIQUE INDEX user_identities_issuer_user_idx ON user_identities (issuer, user_id);
    COMMENT ON INDEX user_identities_issuer_user_idx IS 'One subject per user and issuer: a second subject with the same email (a recycled address) does not link.';
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE user_identities');
}
