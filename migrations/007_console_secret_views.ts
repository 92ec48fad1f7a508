import type { Knex } from 'knex';

/**
 * New secrets waiting for their one view in the console, so the GET after a create or
 * rotate may reach any process. Each is AES-256-GCM ciphertext under a key derived from
 * the session cookie's value, which the database never holds: rows alone cannot be read.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE console_secret_views (
      id          text PRIMARY KEY,
      session_id  bytea NOT NULL REFERENCES console_sessions(id_sha256) ON DELETE CASCADE,
      client_id   text NOT NULL,
      ciphertext  bytea NOT NULL,
      iv          bytea NOT NULL CHECK (length(iv) = 12),
      tag         bytea NOT NULL CHECK (length(tag) = 16),
      expires_at  timestamptz NOT NULL
    );
    COMMENT ON TABLE console_secret_views IS 'A new client secret waiting for its one view by the console session that made it; taking it deletes the row.';
    COMMENT ON COLUMN console_secret_views.id IS 'Random id in the page''s URL; with session_id, the GCM additional data.';
    COMMENT ON COLUMN console_secret_views.session_id IS 'The session''s id_sha256: only that session sees the view, and ending it drops the view.';
    COMMENT ON COLUMN console_secret_views.client_id IS 'The keypair whose secret this is (the page''s URL names it too).';
    COMMENT ON COLUMN console_secret_views.ciphertext IS 'AES-256-GCM of the secret and the page''s heading, under HKDF-SHA256 of the session cookie''s value (never stored) with id as salt.';
    COMMENT ON COLUMN console_secret_views.iv IS 'The 96-bit GCM nonce, random per view.';
    COMMENT ON COLUMN console_secret_views.tag IS 'The 128-bit GCM authentication tag.';
    COMMENT ON COLUMN console_secret_views.expires_at IS 'Created plus 300 s; later the view is refused and the row deleted.';
    CREATE INDEX console_secret_views_expires_idx ON console_secret_views (expires_at);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE console_secret_views');
}
