import knexFactory, { type Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/shared/log.js';
import { createKeypair, createTenant, ownDatabase, requestToken, startTestKeygate, type Tenant, type TestKeygate } from '../support/keygate.js';

// A table lock held by another connection makes the keypair read time out (57014) while
// the usage write still lands: PostgreSQL only, on a database of this file's own, since
// the lock would stall every other file's requests (TEST_DATABASE_URL).
const databaseUrl = process.env.TEST_DATABASE_URL;

describe.runIf(databaseUrl)('auto-disable when the keypair cannot be read', () => {
  let own: Awaited<ReturnType<typeof ownDatabase>>;
  let kg: TestKeygate;
  let admin: Knex;
  let tenant: Tenant;
  const lines: string[] = [];

  beforeAll(async () => {
    own = await ownDatabase('auto_disable_outage');
    const capture = { write: (line: string) => void lines.push(line) };
    kg = await startTestKeygate({ ...own.env, AUTO_DISABLE_MIN_FAILURES: '20', AUTO_DISABLE_FAILURE_RATIO: '0.9', DATABASE_STATEMENT_TIMEOUT: '1' }, { log: createLogger('info', capture) });
    admin = knexFactory({ client: 'pg', connection: own.env.DATABASE_URL!, pool: { min: 0, max: 1 } });
    tenant = await createTenant(kg.keygate);
  });

  afterAll(async () => {
    await admin?.destroy();
    await kg?.close();
    await own?.drop();
  });

  it('is not read as a deleted keypair: the failure is logged, and the check runs again with the next batch', async () => {
    const { keypair, clientSecret } = await createKeypair(kg.keygate, { owner: { environmentId: tenant.environmentId }, autoDisable: true });
    for (let i = 0; i < 20; i += 1) expect((await requestToken(kg.http, { clientId: keypair.clientId, clientSecret }, { scope: 'admin' })).status).toBe(400);

    const lock = await admin.transaction();
    try {
      await lock.raw('lock table keypairs in access exclusive mode');
      await kg.keygate.usage!.flush();
    } finally {
      await lock.rollback();
    }
    const failures = lines.map((line) => JSON.parse(line) as { msg: string; clientId?: string }).filter((line) => line.msg.startsWith('auto-disable check failed'));
    expect(failures).toEqual([expect.objectContaining({ clientId: keypair.clientId })]);
    expect((await kg.keygate.keypairs.getKeypair(keypair.clientId)).enabled).toBe(true);

    // The next batch holds nothing of this keypair's, yet its check is made again.
    const other = await createKeypair(kg.keygate, { owner: { environmentId: tenant.environmentId } });
    expect((await requestToken(kg.http, { clientId: other.keypair.clientId, clientSecret: other.clientSecret })).status).toBe(200);
    await kg.keygate.usage!.flush();
    expect((await kg.keygate.keypairs.getKeypair(keypair.clientId)).enabled).toBe(false);
  });
});
