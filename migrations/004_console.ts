import type { Knex } from 'knex';

/** The admin console's sign-in: one-time links (their ids, once used) and sessions. */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE console_link_uses (
      jti      text PRIMARY KEY,
      used_at  timestamptz NOT NULL,
      expires_at timestamptz NOT NULL
    );
    COMMENT ON TABLE console_link_uses IS 'Sign-in links already exchanged for a session: a link works once. Rows are useless past expires_at.';

    CREATE TABLE console_sessions (
      id_sha256   bytea PRIMARY KEY CHECK (length(id_sha256) = 32),
      user_id     text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      csrf_token  text NOT NULL,
      created_at  timestamptz NOT NULL,
      expires_at  timestamptz NOT NULL
    );
    COMMENT ON TABLE console_sessions IS 'Console sessions: the SHA-256 of the cookie value, never the value; the CSRF token every form carries.';
    CREATE INDEX console_sessions_expires_idx ON console_sessions (expires_at);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TABLE console_sessions;
    DROP TABLE console_link_uses;
  `);
}
