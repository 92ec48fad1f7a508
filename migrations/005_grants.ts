import type { Knex } from 'knex';

/**
 * Scopes belong to a resource server: a keypair's scopes become grants, one per
 * resource server (Auth0's client grants), and a resource server can be limited to
 * named accounts. Until now a keypair held one list of scope names, and a token for
 * any resource server carried those of its names that server defined, so a new
 * server defining `read` handed its `read` to every keypair holding the old one.
 *
 * Each held scope becomes a grant at the one resource server that defines it. A
 * scope that several servers define becomes a grant at the default resource server
 * only (and is dropped if the default is not one of them), and a scope no server
 * defines is dropped: both are logged, one line per keypair, as what this narrowed,
 * and the live secrets of those keypairs get a fresh status-list index, so tokens
 * issued before with a scope taken away read as revoked.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE resource_servers ADD COLUMN available_to text[] CHECK (cardinality(available_to) <= 1000);
    COMMENT ON COLUMN resource_servers.available_to IS 'Accounts whose keypairs may hold grants here; NULL: every account.';

    CREATE TABLE keypair_grants (
      client_id           text NOT NULL REFERENCES keypairs(client_id) ON DELETE CASCADE,
      resource_server_id  text NOT NULL REFERENCES resource_servers(id),
      scopes              text[] NOT NULL CHECK (cardinality(scopes) BETWEEN 1 AND 100),
      PRIMARY KEY (client_id, resource_server_id)
    );
    COMMENT ON TABLE keypair_grants IS 'What a keypair may ask for, per resource server: a token for a resource server carries only scopes granted there.';
    COMMENT ON COLUMN keypair_grants.scopes IS 'Scope names of that resource server''s catalogue granted to the keypair (at least one: no scope, no grant).';
    CREATE INDEX keypair_grants_resource_server_idx ON keypair_grants (resource_server_id);
  `);

  const held = `
    held AS (SELECT k.client_id, s.scope, s.ord FROM keypairs k CROSS JOIN LATERAL unnest(k.scopes) WITH ORDINALITY AS s(scope, ord)),
    definers AS (
      SELECT h.client_id, h.scope, h.ord, r.id, r.identifier, r.is_default,
             count(*) OVER (PARTITION BY h.client_id, h.scope) AS how_many
        FROM held h JOIN resource_servers r ON r.scopes @> jsonb_build_array(jsonb_build_object('name', h.scope)))`;
  await knex.raw(`
    WITH ${held}
    INSERT INTO keypair_grants (client_id, resource_server_id, scopes)
    SELECT client_id, id, array_agg(scope ORDER BY ord)
      FROM definers
     WHERE how_many = 1 OR is_default
     GROUP BY client_id, id`);

  const narrowed = await knex.raw<{ rows: Array<{ client_id: string; scope: string; kept_at: string | null; lost_at: string[] }> }>(`
    WITH ${held}
    SELECT h.client_id, h.scope,
           max(d.identifier) FILTER (WHERE d.is_default) AS kept_at,
           coalesce(array_agg(d.identifier ORDER BY d.identifier) FILTER (WHERE d.id IS NOT NULL AND NOT d.is_default), '{}') AS lost_at
      FROM held h LEFT JOIN definers d ON d.client_id = h.client_id AND d.scope = h.scope
     GROUP BY h.client_id, h.scope, h.ord
    HAVING count(d.id) <> 1
     ORDER BY h.client_id, h.ord`);
  const lines = new Map<string, string[]>();
  for (const row of narrowed.rows) {
    const what =
      row.lost_at.length === 0
        ? `${row.scope} dropped (no resource server defines it)`
        : row.kept_at !== null
          ? `${row.scope} granted at ${row.kept_at} only, no longer at ${row.lost_at.join(', ')}`
          : `${row.scope} dropped (defined by ${row.lost_at.join(', ')}, not by the default resource server)`;
    lines.set(row.client_id, [...(lines.get(row.client_id) ?? []), what]);
  }
  // Tokens issued before with a scope taken away must not stay valid until they expire:
  // the live secrets of each narrowed keypair get a fresh status-list index, so those
  // tokens read as revoked (what narrowing through the admin API does; inlined, as a
  // migration must not depend on app code that may change later).
  if (lines.size > 0) {
    await knex.raw(
      `UPDATE keypair_secrets SET status_idx = nextval('status_list_index_seq')
        WHERE client_id = ANY(?::text[]) AND (expires_at IS NULL OR expires_at > now())`,
      [[...lines.keys()]],
    );
    await knex.raw(`UPDATE keypairs SET version = version + 1, updated_at = now() WHERE client_id = ANY(?::text[])`, [[...lines.keys()]]);
  }
  const logger = (knex.client as { logger: { warn(message: string): void } }).logger;
  for (const [clientId, what] of lines) logger.warn(`005_grants narrowed keypair ${clientId}: ${what.join('; ')}`);
  if (lines.size > 0) logger.warn(`005_grants narrowed ${lines.size} keypair(s): a scope several resource servers define is now granted at the default resource server only; grant it elsewhere with PATCH /admin/v1/keypairs/{clientId} (grants) or keygate keypairs update --grant`);

  await knex.raw(`
    ALTER TABLE keypairs DROP COLUMN scopes;
  `);
}

/** Back to one list of scope names per keypair: the union of its grants (what each grant was for is lost). */
export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE keypairs ADD COLUMN scopes text[] NOT NULL DEFAULT '{}';
    COMMENT ON COLUMN keypairs.scopes IS 'Scopes the keypair holds, drawn from the resource servers catalogues.';
    UPDATE keypairs k SET scopes = u.scopes
      FROM (SELECT g.client_id, array_agg(DISTINCT s.scope) AS scopes
              FROM keypair_grants g CROSS JOIN LATERAL unnest(g.scopes) AS s(scope)
             GROUP BY g.client_id) u
     WHERE u.client_id = k.client_id;
    DROP TABLE keypair_grants;
    ALTER TABLE resource_servers DROP COLUMN available_to;
  `);
}
