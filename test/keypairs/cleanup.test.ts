import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { createKeypair, createTenant, OPERATOR, startTestKeygate, testDatabaseUrl, type Tenant, type TestKeygate } from '../support/keygate.js';

let kg: TestKeygate;
let tenant: Tenant;

beforeAll(async () => {
  kg = await startTestKeygate();
  tenant = await createTenant(kg.keygate);
});

afterAll(() => kg.close());

const DAY = 86_400;
const owner = () => ({ environmentId: tenant.environmentId });

describe('keygate cleanup', () => {
  it('deletes only keypairs expired over EXPIRED_RETENTION_DAYS ago, retired secrets as old and old usage, and says how many', async () => {
    // Seed the past: the clock goes back, things are made, the clock comes back.
    kg.clock.advance(-100 * DAY);
    const longExpired = await createKeypair(kg.keygate, { owner: owner(), name: 'long expired', expiresAt: new Date(kg.clock.now().getTime() + 50 * DAY * 1000) });
    const rotatedLongAgo = await createKeypair(kg.keygate, { owner: owner(), name: 'rotated long ago' });
    await kg.keygate.keypairs.rotateSecret(OPERATOR, rotatedLongAgo.keypair.clientId, 0);
    kg.keygate.usage!.record({ at: kg.clock.now(), clientId: rotatedLongAgo.keypair.clientId, outcome: 'issued', error: null, reason: null, credentialed: true, scope: null, resource: null, ip: '127.0.0.1', userAgent: null });
    await kg.keygate.usage!.flush();
    kg.clock.advance(100 * DAY);
    const recentlyExpired = await createKeypair(kg.keygate, { owner: owner(), name: 'recently expired', expiresAt: new Date(kg.clock.now().getTime() + 60_000) });
    await kg.keygate.db.knex('keypairs').where({ client_id: recentlyExpired.keypair.clientId }).update({ expires_at: new Date(Date.now() - 10 * DAY * 1000) });
    const current = await createKeypair(kg.keygate, { owner: owner(), name: 'current' });
    await kg.keygate.keypairs.rotateSecret(OPERATOR, current.keypair.clientId, 0);

    const result = await runCli(['cleanup'], { DATABASE_URL: testDatabaseUrl(), DATABASE_POOL_MAX: '1' }, kg.dir);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^deleted 1 keypairs expired more than 30 days ago, 1 retired secrets, 1 usage records older than 90 days and \d+ settled notifications\n$/);

    const remaining = await kg.keygate.db.knex('keypairs').where({ environment_id: tenant.environmentId }).pluck('name');
    expect(remaining.sort()).toEqual(['current', 'recently expired', 'rotated long ago']);
    // The secret retired today stays, to tell its use apart from a guess; the one retired 100 days ago went.
    expect(await kg.keygate.db.knex('keypair_secrets').where({ client_id: current.keypair.clientId }).count()).toEqual([{ count: 2 }]);
    expect(await kg.keygate.db.knex('keypair_secrets').where({ client_id: rotatedLongAgo.keypair.clientId }).count()).toEqual([{ count: 1 }]);
    expect(await kg.keygate.db.knex('usage_events').where({ client_id: rotatedLongAgo.keypair.clientId }).count()).toEqual([{ count: 0 }]);

    const [deleted] = await kg.keygate.db.knex('audit_events').where({ target_id: longExpired.keypair.clientId, action: 'keypair.deleted' });
    expect(deleted).toMatchObject({ actor_type: 'system', after: { reason: 'expired more than 30 days ago' } });

    const again = await runCli(['cleanup', '--json'], { DATABASE_URL: testDatabaseUrl(), DATABASE_POOL_MAX: '1' }, kg.dir);
    expect(JSON.parse(again.stdout)).toMatchObject({ expiredKeypairs: 0, retiredSecrets: 0, usageRecords: 0 });
  });
});
