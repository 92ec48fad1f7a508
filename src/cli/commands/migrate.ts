import { openDatabase } from '../../db/database.js';
import { migrateDownAll, migrateLatest } from '../../db/migrate.js';
import { defineCommand } from '../options.js';

/** `keygate migrate [--down]`: apply the migrations, or roll all of them back. */
export const migrate = defineCommand({
  name: 'migrate',
  flags: { down: { type: 'boolean' } },
  async run(config, { values }) {
    const down = values.down ?? false;
    const db = await openDatabase(config);
    try {
      const names = await db.withoutStatementLimit((knex) => (down ? migrateDownAll(knex) : migrateLatest(knex)));
      process.stdout.write(names.length ? `${down ? 'rolled back' : 'applied'}: ${names.join(', ')}\n` : 'nothing to do\n');
    } finally {
      await db.close();
    }
  },
});
