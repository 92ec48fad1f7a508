import type { Knex } from 'knex';
import type { ChangeFeed } from '../db/notify.js';
import type { ResourceServerCatalog } from '../resource_servers/catalog.js';
import type { Clock } from '../shared/clock.js';

/** What the keypair service and its parts (bulk seeding, ...) are built from. */
export interface KeypairServiceDeps {
  readonly db: Knex;
  readonly changes: ChangeFeed;
  readonly catalog: ResourceServerCatalog;
  readonly clock: Clock;
  /** Enabled keypairs one owner may hold (MAX_ACTIVE_KEYPAIRS). */
  readonly maxActiveKeypairs: number;
}
