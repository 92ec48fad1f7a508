import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTO_DISABLE_REASON } from '../../src/keypairs/service.js';
import { renderMessage } from '../../src/notifications/worker.js';
import { RETIRED_SECRET_NOTICE_HOURS } from '../../src/usage/retired_secret.js';
import { generateSecret } from '../../src/keypairs/secret.js';
import { createKeypair, createTenant, OPERATOR, requestToken, startTestKeygate, type Tenant, type TestKeygate } from '../support/keygate.js';

let kg: TestKeygate;
let tenant: Tenant;

// A small threshold keeps the test fast; the rule is the same at the default 100.
beforeAll(async () => {
  kg = await startTestKeygate({ AUTO_DISABLE_MIN_FAILURES: '20', AUTO_DISABLE_FAILURE_RATIO: '0.9', AUTO_DISABLE_WINDOW: '900' });
  tenant = await createTenant(kg.keygate);
});

afterAll(() => kg.close());

const newKeypair = (autoDisable: boolean | null) => createKeypair(kg.keygate, { owner: { environmentId: tenant.environmentId }, autoDisable });

async function send(times: number, credentials: { clientId: string; clientSecret: string }, params: Record<string, string> = {}) {
  for (let i = 0; i < times; i += 1) await requestToken(kg.http, credentials, params);
}

/** Writes the usage batch, which is when auto-disable looks at the log. */
const flush = () => kg.keygate.usage!.flush();

describe('auto-disable', () => {
  it('a retired secret still in use never disables the keypair: the new secret keeps working, and the admins learn which address sends it, once a day', async () => {
    const { keypair, clientSecret: retired } = await newKeypair(true);
    const rotated = await kg.keygate.keypairs.rotateSecret(OPERATOR, keypair.clientId, 0);
    // 105 requests with the old secret: five times the threshold, every one refused.
    for (let i = 0; i < 105; i += 1) {
      const response = await requestToken(kg.http, { clientId: keypair.clientId, clientSecret: retired });
      expect(response.status).toBe(401);
    }
    await flush();
    expect((await kg.keygate.keypairs.getKeypair(keypair.clientId)).enabled).toBe(true);
    expect((await requestToken(kg.http, { clientId: keypair.clientId, clientSecret: rotated.clientSecret })).status).toBe(200);
    expect(await kg.keygate.db.knex('audit_events').where({ target_id: keypair.clientId, action: 'keypair.disabled' })).toEqual([]);

    const notices = () => kg.keygate.db.knex('notification_outbox').where({ client_id: keypair.clientId, event: 'keypair.retired_secret_used' }).orderBy('id');
    const [notice] = await notices();
    expect(notice.payload).toMatchObject({ name: 'test keypair', actorType: 'system', addresses: ['127.0.0.1'] });
    const { subject, text } = renderMessage(notice, { account: 'Test account', environment: 'test', actor: undefined }, kg.keygate.config.issuer);
    expect(subject).toBe('[Keygate] Keypair "test keypair" is still used with a retired secret');
    expect(text).toContain('  127.0.0.1\n');
    for (const secret of [retired, rotated.clientSecret]) {
      expect(JSON.stringify(notice)).not.toContain(secret);
      expect(text).not.toContain(secret);
    }

    // Later the same day: no second notice.
    kg.clock.advance(3600);
    await send(5, { clientId: keypair.clientId, clientSecret: retired });
    await flush();
    expect(await notices()).toHaveLength(1);
    // A day after the first: one more.
    kg.clock.advance(RETIRED_SECRET_NOTICE_HOURS * 3600);
    await send(1, { clientId: keypair.clientId, clientSecret: retired });
    await flush();
    expect(await notices()).toHaveLength(2);
    expect((await kg.keygate.keypairs.getKeypair(keypair.clientId)).enabled).toBe(true);
  });

  it('disables a keypair flooded with bad scopes under its live secret, audited as the system, and tells its admins', async () => {
    const { keypair, clientSecret } = await newKeypair(true);
    await send(19, { clientId: keypair.clientId, clientSecret }, { scope: 'admin' });
    await flush();
    expect((await kg.keygate.keypairs.getKeypair(keypair.clientId)).enabled).toBe(true);

    await send(1, { clientId: keypair.clientId, clientSecret }, { scope: 'admin' });
    await flush();
    const disabled = await kg.keygate.keypairs.getKeypair(keypair.clientId);
    expect(disabled).toMatchObject({ enabled: false, disabledReason: AUTO_DISABLE_REASON, disabledBy: 'system' });
    expect((await requestToken(kg.http, { clientId: keypair.clientId, clientSecret })).status).toBe(401);

    const [event] = await kg.keygate.db.knex('audit_events').where({ target_id: keypair.clientId, action: 'keypair.disabled' });
    expect(event).toMatchObject({ actor_type: 'system', actor_id: null, after: { enabled: false, disabledReason: AUTO_DISABLE_REASON } });
    const notices = await kg.keygate.db.knex('notification_outbox').where({ client_id: keypair.clientId, event: 'keypair.disabled' });
    expect(notices).toHaveLength(1);
    expect(notices[0].payload).toMatchObject({ actorType: 'system', reason: AUTO_DISABLE_REASON });
  });

  it('wrong-secret guesses from outside never disable a keypair whose holder keeps succeeding', async () => {
    const { keypair, clientSecret } = await newKeypair(true);
    const holder = { clientId: keypair.clientId, clientSecret };
    await send(3, holder);
    // 150 guesses: far past the threshold and 98% of all requests, yet none presented one of its secrets.
    for (let i = 0; i < 150; i += 1) await requestToken(kg.http, { clientId: keypair.clientId, clientSecret: generateSecret().secret });
    await send(2, holder);
    await flush();
    expect((await kg.keygate.keypairs.getKeypair(keypair.clientId)).enabled).toBe(true);
    expect((await requestToken(kg.http, holder)).status).toBe(200);
  });

  it('needs the failures to be the share AUTO_DISABLE_FAILURE_RATIO of the holder\'s requests', async () => {
    const { keypair, clientSecret } = await newKeypair(true);
    const holder = { clientId: keypair.clientId, clientSecret };
    // 20 refusals against 5 tokens: 80%, under 90%.
    await send(5, holder);
    await send(20, holder, { scope: 'admin' });
    await flush();
    expect((await kg.keygate.keypairs.getKeypair(keypair.clientId)).enabled).toBe(true);

    // Past the window the successes no longer weigh: 25 fresh refusals are 100%.
    kg.clock.advance(901);
    await send(25, holder, { scope: 'admin' });
    await flush();
    expect((await kg.keygate.keypairs.getKeypair(keypair.clientId)).enabled).toBe(false);
  });

  it('leaves keypairs alone that did not opt in, while AUTO_DISABLE_DEFAULT is false', async () => {
    const byDefault = await newKeypair(null);
    const optedOut = await newKeypair(false);
    for (const { keypair, clientSecret } of [byDefault, optedOut]) await send(25, { clientId: keypair.clientId, clientSecret }, { scope: 'admin' });
    await flush();
    expect((await kg.keygate.keypairs.getKeypair(byDefault.keypair.clientId)).enabled).toBe(true);
    expect((await kg.keygate.keypairs.getKeypair(optedOut.keypair.clientId)).enabled).toBe(true);
  });
});
