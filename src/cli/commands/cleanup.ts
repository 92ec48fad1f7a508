import { openDatabase } from '../../db/database.js';
import { migrateLatest } from '../../db/migrate.js';
import { localChangeFeed, postgresChangeFeed } from '../../db/notify.js';
import { runCleanup } from '../../keypairs/maintenance.js';
import { KeypairService } from '../../keypairs/service.js';
import { ResourceServerCatalog } from '../../resource_servers/catalog.js';
import { systemClock } from '../../shared/clock.js';
import { createLogger } from '../../shared/log.js';
import { deleteUsageBefore } from '../../usage/store.js';
import { defineCommand } from '../options.js';

/** `keygate cleanup [--json]`: the daily job's cleanup, now, against the configured database. */
export const cleanup = defineCommand({
  name: 'cleanup',
  flags: { json: { type: 'boolean' } },
  async run(config, { values }) {
    const json = values.json ?? false;
    const db = await openDatabase(config);
    const log = createLogger(config.logLevel);
    try {
      await db.withoutStatementLimit((knex) => migrateLatest(knex));
      // Running servers drop deleted keypairs from their caches through the change feed.
      const changes = db.embedded ? localChangeFeed() : await postgresChangeFeed(db.url, log, { connectTimeoutMs: db.timeouts.connectMs });
      try {
        const catalog = await ResourceServerCatalog.load(db.knex, changes);
        const keypairs = new KeypairService({ db: db.knex, changes, catalog, clock: systemClock, maxActiveKeypairs: config.maxActiveKeypairs });
        const report = await runCleanup({ db: db.knex, keypairs, clock: systemClock, log, expiredRetentionDays: config.expiredRetentionDays, usageRetentionDays: config.usageRetentionDays, expiryWarningDays: config.expiryWarningDays, deleteUsageBefore: (before) => deleteUsageBefore(db.knex, before) });
        process.stdout.write(
          json
            ? `${JSON.stringify(report)}\n`
            : `deleted ${report.expiredKeypairs} keypairs expired more than ${config.expiredRetentionDays} days ago, ${report.retiredSecrets} retired secrets, ${report.usageRecords} usage records older than ${config.usageRetentionDays} days and ${report.notifications} settled notifications\n`,
        );
      } finally {
        await changes.close();
      }
    } finally {
      await db.close();
    }
  },
});
