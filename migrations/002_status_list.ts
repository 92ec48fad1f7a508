import type { Knex } from 'knex';

/**
 * Token Status List (draft-ietf-oauth-status-list): every secret gets a status index
 * when it is minted, and every token issued with that secret carries it. Indexes come
 * from one sequence, so processes never collide, and are never reused, so an index
 * cannot point at another secret while a token that carries it is still valid.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE SEQUENCE status_list_index_seq AS bigint MINVALUE 0 START WITH 0;
    COMMENT ON SEQUENCE status_list_index_seq IS 'Allocates status-list indexes: one per secret, never reused.';
    ALTER TABLE keypair_secrets ADD COLUMN status_idx bigint;
    UPDATE keypair_secrets SET status_idx = nextval('status_list_index_seq') WHERE status_idx IS NULL;
    ALTER TABLE keypair_secrets ALTER COLUMN status_idx SET NOT NULL;
    ALTER TABLE keypair_secrets ADD CONSTRAINT keypair_secrets_status_idx_key UNIQUE (status_idx);
    COMMENT ON COLUMN keypair_secrets.status_idx IS 'Index of this secret in the status lists; tokens issued with it carry it in their status claim.';
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE keypair_secrets DROP COLUMN status_idx;
    DROP SEQUENCE status_list_index_seq;
  `);
}
