import type { Knex } from 'knex';

/**
 * The whole data model of ARCHITECTURE.md. Ids are prefixed random strings minted by
 * src/shared/ids.ts, so every primary key is text.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE accounts (
      id          text PRIMARY KEY CHECK (id LIKE 'acc\\_%'),
      name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
      status      text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'closed')),
      created_at  timestamptz NOT NULL DEFAULT now(),
      updated_at  timestamptz NOT NULL DEFAULT now()
    );
    COMMENT ON TABLE accounts IS 'Tenants. Closing one deletes its keypairs; the row stays for the audit trail.';

    CREATE TABLE environments (
      id          text PRIMARY KEY CHECK (id LIKE 'env\\_%'),
      account_id  text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
      name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
      status      text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'closed')),
      created_at  timestamptz NOT NULL DEFAULT now(),
      updated_at  timestamptz NOT NULL DEFAULT now()
    );
    COMMENT ON TABLE environments IS 'Sub-tenants of an account (development, production, ...).';
    CREATE INDEX environments_account_idx ON environments (account_id);

    CREATE TABLE users (
      id           text PRIMARY KEY CHECK (id LIKE 'usr\\_%'),
      email        text NOT NULL,
      name         text NOT NULL DEFAULT '',
      is_operator  boolean NOT NULL DEFAULT false,
      created_at   timestamptz NOT NULL DEFAULT now(),
      updated_at   timestamptz NOT NULL DEFAULT now()
    );
    COMMENT ON TABLE users IS 'People who administer Keygate; admin tokens map to a row here by email or id.';
    COMMENT ON COLUMN users.is_operator IS 'Operators manage everything: accounts, environments, resource servers, users and any keypair.';
    CREATE UNIQUE INDEX users_email_lower_idx ON users (lower(email));

    CREATE TABLE memberships (
      id              text PRIMARY KEY CHECK (id LIKE 'mem\\_%'),
      user_id         text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      account_id      text REFERENCES accounts(id) ON DELETE CASCADE,
      environment_id  text REFERENCES environments(id) ON DELETE CASCADE,
      role            text NOT NULL DEFAULT 'admin' CHECK (role = 'admin'),
      created_at      timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT memberships_one_scope CHECK ((account_id IS NULL) <> (environment_id IS NULL))
    );
    COMMENT ON TABLE memberships IS 'Admin grants: on an account (inherited by its environments) or on one environment.';
    CREATE UNIQUE INDEX memberships_user_account_idx ON memberships (user_id, account_id) WHERE account_id IS NOT NULL;
    CREATE UNIQUE INDEX memberships_user_environment_idx ON memberships (user_id, environment_id) WHERE environment_id IS NOT NULL;
    CREATE INDEX memberships_account_idx ON memberships (account_id);
    CREATE INDEX memberships_environment_idx ON memberships (environment_id);

    CREATE TABLE resource_servers (
      id                text PRIMARY KEY CHECK (id LIKE 'rs\\_%'),
      identifier        text NOT NULL UNIQUE,
      name              text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
      scopes            jsonb NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(scopes) = 'array'),
      access_token_ttl  integer NOT NULL DEFAULT 300 CHECK (access_token_ttl BETWEEN 60 AND 86400),
      is_default        boolean NOT NULL DEFAULT false,
      created_at        timestamptz NOT NULL DEFAULT now(),
      updated_at        timestamptz NOT NULL DEFAULT now()
    );
    COMMENT ON TABLE resource_servers IS 'APIs that accept Keygate tokens. identifier is the token aud (RFC 8707 resource).';
    COMMENT ON COLUMN resource_servers.scopes IS 'Scope catalogue: [{"name": "read", "description": "..."}].';
    COMMENT ON COLUMN resource_servers.access_token_ttl IS 'Lifetime of tokens for this audience, in seconds (at most one day, which bounds signing-key retirement).';
    COMMENT ON COLUMN resource_servers.is_default IS 'Used when a token request names no resource; at most one row.';
    CREATE UNIQUE INDEX resource_servers_one_default_idx ON resource_servers (is_default) WHERE is_default;

    CREATE TABLE keypairs (
      client_id        text PRIMARY KEY CHECK (client_id LIKE 'kp\\_%'),
      account_id       text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
      environment_id   text REFERENCES environments(id) ON DELETE CASCADE,
      name             text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
      comment          text NOT NULL DEFAULT '' CHECK (length(comment) <= 1000),
      scopes           text[] NOT NULL DEFAULT '{}',
      enabled          boolean NOT NULL DEFAULT true,
      expires_at       timestamptz,
      disabled_at      timestamptz,
      disabled_by      text,
      disabled_reason  text CHECK (length(disabled_reason) <= 500),
      last_used_at     timestamptz,
      created_by       text NOT NULL,
      version          integer NOT NULL DEFAULT 1,
      created_at       timestamptz NOT NULL DEFAULT now(),
      updated_at       timestamptz NOT NULL DEFAULT now()
    );
    COMMENT ON TABLE keypairs IS 'OAuth clients: client_id is the keypair id; the secrets live in keypair_secrets.';
    COMMENT ON COLUMN keypairs.environment_id IS 'NULL for an account-level keypair.';
    COMMENT ON COLUMN keypairs.scopes IS 'Scopes the keypair holds, drawn from the resource servers catalogues.';
    COMMENT ON COLUMN keypairs.expires_at IS 'NULL: never expires. Past it the token endpoint answers invalid_client.';
    COMMENT ON COLUMN keypairs.last_used_at IS 'Last token issued; written in batches, never once per token.';
    COMMENT ON COLUMN keypairs.version IS 'Bumped by every change; the admin API ETag and If-Match.';
    CREATE INDEX keypairs_owner_idx ON keypairs (account_id, environment_id, created_at, client_id);
    CREATE INDEX keypairs_environment_idx ON keypairs (environment_id, created_at, client_id) WHERE environment_id IS NOT NULL;

    CREATE TABLE keypair_secrets (
      id             text PRIMARY KEY CHECK (id LIKE 'sec\\_%'),
      client_id      text NOT NULL REFERENCES keypairs(client_id) ON DELETE CASCADE,
      secret_sha256  bytea NOT NULL UNIQUE CHECK (length(secret_sha256) = 32),
      last4          text NOT NULL CHECK (length(last4) = 4),
      created_at     timestamptz NOT NULL DEFAULT now(),
      expires_at     timestamptz
    );
    COMMENT ON TABLE keypair_secrets IS 'SHA-256 digests of keypair secrets, never the secrets. Two rows are live during a rotation grace period.';
    COMMENT ON COLUMN keypair_secrets.expires_at IS 'Set when a rotation retires the secret; NULL while it is the current one.';
    CREATE INDEX keypair_secrets_client_idx ON keypair_secrets (client_id, created_at);

    CREATE TABLE audit_events (
      id              text PRIMARY KEY CHECK (id LIKE 'evt\\_%'),
      seq             bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
      at              timestamptz NOT NULL DEFAULT now(),
      actor_type      text NOT NULL CHECK (actor_type IN ('user', 'operator', 'system')),
      actor_id        text,
      action          text NOT NULL,
      target_type     text NOT NULL,
      target_id       text NOT NULL,
      account_id      text,
      environment_id  text,
      before          jsonb,
      after           jsonb,
      ip              text,
      user_agent      text
    );
    COMMENT ON TABLE audit_events IS 'Credential history, append-only (a trigger refuses UPDATE and DELETE). No foreign keys: history outlives what it describes. Never holds a secret.';
    COMMENT ON COLUMN audit_events.seq IS 'Insertion order: histories list newest first by seq, which stays stable when events share a timestamp.';
    CREATE INDEX audit_events_account_idx ON audit_events (account_id, seq);
    CREATE INDEX audit_events_target_idx ON audit_events (target_id, seq);

    CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'audit_events is append-only' USING ERRCODE = 'insufficient_privilege';
    END;
    $$;
    CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events
      FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TABLE audit_events;
    DROP FUNCTION audit_events_append_only();
    DROP TABLE keypair_secrets;
    DROP TABLE keypairs;
    DROP TABLE resource_servers;
    DROP TABLE memberships;
    DROP TABLE users;
    DROP TABLE environments;
    DROP TABLE accounts;
  `);
}
