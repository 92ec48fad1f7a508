import type { Knex } from 'knex';

/**
 * Usage, guards and notifications: per-keypair rate limits and IP allowlists,
 * auto-disable, the usage log with its hourly rollups, the shared rate-limit
 * counters, and the notification outbox.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE keypairs
      ADD COLUMN rate_limit_per_minute integer CHECK (rate_limit_per_minute BETWEEN 60 AND 1000),
      ADD COLUMN allowed_ips text[] NOT NULL DEFAULT '{}' CHECK (cardinality(allowed_ips) <= 100),
      ADD COLUMN auto_disable boolean,
      ADD COLUMN expiry_warned_at timestamptz;
    COMMENT ON COLUMN keypairs.rate_limit_per_minute IS 'Token requests per minute; NULL: the server default (RATE_LIMIT_PER_MINUTE).';
    COMMENT ON COLUMN keypairs.allowed_ips IS 'Addresses and CIDR ranges token requests may come from, in canonical form; empty: anywhere.';
    COMMENT ON COLUMN keypairs.auto_disable IS 'Disable on sustained failures; NULL: the server default (AUTO_DISABLE_DEFAULT).';
    COMMENT ON COLUMN keypairs.expiry_warned_at IS 'When the admins were told the keypair expires soon, so they are told once.';

    CREATE TABLE usage_events (
      at           timestamptz NOT NULL,
      client_id    text NOT NULL,
      outcome      text NOT NULL CHECK (outcome IN ('issued', 'refused')),
      error        text,
      reason       text,
      credentialed boolean NOT NULL,
      scope        text,
      resource     text,
      ip           text,
      user_agent   text
    );
    COMMENT ON TABLE usage_events IS 'One row per token request that named a known keypair; written in batches. No foreign key: rows outlive a deleted keypair until retention removes them.';
    COMMENT ON COLUMN usage_events.error IS 'The OAuth error code returned (NULL when issued).';
    COMMENT ON COLUMN usage_events.reason IS 'Why it was refused, finer than the error: secret_mismatch, secret_retired, ip_not_allowed, rate_limited, invalid_scope, ...';
    COMMENT ON COLUMN usage_events.credentialed IS 'The request presented a current or retired secret of the keypair: only such refusals count towards auto-disable.';
    CREATE INDEX usage_events_client_at_idx ON usage_events (client_id, at);
    CREATE INDEX usage_events_at_idx ON usage_events (at);

    CREATE TABLE usage_hourly (
      client_id  text NOT NULL,
      hour       timestamptz NOT NULL,
      dimension  text NOT NULL CHECK (dimension IN ('resource', 'reason', 'scope')),
      key        text NOT NULL,
      issued     bigint NOT NULL DEFAULT 0,
      refused    bigint NOT NULL DEFAULT 0,
      PRIMARY KEY (client_id, hour, dimension, key)
    );
    COMMENT ON TABLE usage_hourly IS 'Usage rolled up per keypair and hour, so a summary reads a bounded number of rows however many requests there were.';
    COMMENT ON COLUMN usage_hourly.dimension IS 'resource: every request counts once here, so these rows also sum to the totals; reason: refusals; scope: each scope requested.';
    COMMENT ON COLUMN usage_hourly.key IS 'The resource, the refusal reason or the scope (names outside the catalogue count as "other", a request without a resource as "none").';
    CREATE INDEX usage_hourly_hour_idx ON usage_hourly (hour);

    CREATE TABLE rate_limit_windows (
      client_id     text NOT NULL,
      window_start  timestamptz NOT NULL,
      count         bigint NOT NULL,
      PRIMARY KEY (client_id, window_start)
    );
    COMMENT ON TABLE rate_limit_windows IS 'Per-minute request counts of every process together; each process adds its own every second.';

    CREATE TABLE notification_outbox (
      id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      event            text NOT NULL,
      client_id        text NOT NULL,
      account_id       text NOT NULL,
      environment_id   text,
      payload          jsonb NOT NULL,
      created_at       timestamptz NOT NULL,
      attempts         integer NOT NULL DEFAULT 0,
      next_attempt_at  timestamptz NOT NULL,
      locked_until     timestamptz,
      delivered_at     timestamptz,
      failed_at        timestamptz,
      last_error       text
    );
    COMMENT ON TABLE notification_outbox IS 'Notifications to admins, written in the transaction of the change they report; a worker delivers each once. Never holds a secret.';
    COMMENT ON COLUMN notification_outbox.locked_until IS 'A worker claimed the row until then: another process skips it, and takes it over if the worker died.';
    CREATE INDEX notification_outbox_due_idx ON notification_outbox (next_attempt_at) WHERE delivered_at IS NULL AND failed_at IS NULL;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TABLE notification_outbox;
    DROP TABLE rate_limit_windows;
    DROP TABLE usage_hourly;
    DROP TABLE usage_events;
    ALTER TABLE keypairs
      DROP COLUMN rate_limit_per_minute,
      DROP COLUMN allowed_ips,
      DROP COLUMN auto_disable,
      DROP COLUMN expiry_warned_at;
  `);
}
