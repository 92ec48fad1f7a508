import type { Knex } from 'knex';

/**
 * Keypairs with no shared secret (issue 17): a client's own public keys
 * (private_key_jwt), or a workload's platform token from a trusted issuer
 * (federation); DPoP-bound tokens; and the replay store that lets a client
 * assertion or a DPoP proof be used once in every process.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE trusted_issuers (
      id          text PRIMARY KEY,
      issuer      text NOT NULL UNIQUE,
      name        text NOT NULL,
      jwks_uri    text,
      jwks        jsonb,
      audience    text,
      created_by  text NOT NULL,
      created_at  timestamptz NOT NULL,
      updated_at  timestamptz NOT NULL,
      version     integer NOT NULL DEFAULT 1,
      CHECK (jwks_uri IS NULL OR jwks IS NULL)
    );
    COMMENT ON TABLE trusted_issuers IS 'Platforms whose tokens (Kubernetes service-account, GitHub Actions OIDC) federated keypairs accept instead of a secret; managed by operators.';
    COMMENT ON COLUMN trusted_issuers.issuer IS 'The tokens'' iss, exactly.';
    COMMENT ON COLUMN trusted_issuers.jwks_uri IS 'Where its signing keys are; null with jwks null: the jwks_uri of the issuer''s /.well-known/openid-configuration.';
    COMMENT ON COLUMN trusted_issuers.jwks IS 'Its public keys inline (a JWK Set), for an issuer Keygate cannot reach.';
    COMMENT ON COLUMN trusted_issuers.audience IS 'The aud its tokens must carry; null: Keygate''s ISSUER.';

    ALTER TABLE keypairs
      ADD COLUMN credential_type text NOT NULL DEFAULT 'secret' CHECK (credential_type IN ('secret', 'public_key', 'federated')),
      ADD COLUMN public_keys jsonb NOT NULL DEFAULT '[]',
      ADD COLUMN federation_issuer_id text REFERENCES trusted_issuers(id),
      ADD COLUMN federation_subject text,
      ADD COLUMN federation_claims jsonb NOT NULL DEFAULT '{}',
      ADD COLUMN require_dpop boolean NOT NULL DEFAULT false,
      ADD CHECK ((credential_type = 'public_key') = (jsonb_array_length(public_keys) > 0)),
      ADD CHECK ((credential_type = 'federated') = (federation_issuer_id IS NOT NULL AND federation_subject IS NOT NULL));
    COMMENT ON COLUMN keypairs.credential_type IS 'How its client proves itself: secret (client_secret_basic/post), public_key (private_key_jwt), federated (a trusted issuer''s token as client_assertion).';
    COMMENT ON COLUMN keypairs.public_keys IS 'public_key keypairs: 1-5 public JWKs, each {"jwk", "thumbprint" (RFC 7638), "addedAt"}.';
    COMMENT ON COLUMN keypairs.federation_issuer_id IS 'federated keypairs: the trusted issuer whose tokens it accepts (which cannot be deleted while used).';
    COMMENT ON COLUMN keypairs.federation_subject IS 'federated keypairs: the sub the token must carry.';
    COMMENT ON COLUMN keypairs.federation_claims IS 'federated keypairs: claims the token must carry with exactly these values (e.g. GitHub''s repository, ref).';
    COMMENT ON COLUMN keypairs.require_dpop IS 'Tokens only with a DPoP proof (RFC 9449), bound to its key.';
    CREATE INDEX keypairs_federation_issuer_idx ON keypairs (federation_issuer_id) WHERE federation_issuer_id IS NOT NULL;

    CREATE TABLE used_jtis (
      issuer      text NOT NULL,
      jti         text NOT NULL,
      expires_at  timestamptz NOT NULL,
      PRIMARY KEY (issuer, jti)
    );
    COMMENT ON TABLE used_jtis IS 'JWT ids already accepted (client assertions, DPoP proofs) until they expire: a second use in any process is a replay.';
    COMMENT ON COLUMN used_jtis.issuer IS 'Who minted the JWT: a keypair''s client_id, a trusted issuer, or dpop:<key thumbprint>.';
    CREATE INDEX used_jtis_expires_idx ON used_jtis (expires_at);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TABLE used_jtis;
    DROP INDEX keypairs_federation_issuer_idx;
    ALTER TABLE keypairs DROP COLUMN credential_type, DROP COLUMN public_keys, DROP COLUMN federation_issuer_id,
      DROP COLUMN federation_subject, DROP COLUMN federation_claims, DROP COLUMN require_dpop;
    DROP TABLE trusted_issuers;
  `);
}
