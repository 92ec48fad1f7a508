import { createServer } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeypair, createTenant, OPERATOR, requestToken, startTestKeygate, type TestKeygate } from '../support/keygate.js';

let kg: TestKeygate;
beforeAll(async () => {
  kg = await startTestKeygate();
});
afterAll(() => kg.close());

describe('the client cache', () => {
  it('preloads enabled keypairs, so their first token request makes no query', async () => {
    const tenant = await createTenant(kg.keygate);
    const enabled = await createKeypair(kg.keygate, { owner: { environmentId: tenant.environmentId } });
    const disabled = await createKeypair(kg.keygate, { owner: { environmentId: tenant.environmentId } });
    await kg.keygate.keypairs.disableKeypair(OPERATOR, disabled.keypair.clientId);

    // A second process starting now: it preloads what the first one created.
    const second = await startTestKeygate({ KEYS_FILE: `${kg.dir}/jwks.json` });
    try {
      expect(await second.keygate.clients.preload()).toBeGreaterThanOrEqual(1);
      const queries: string[] = [];
      const onQuery = (query: { sql: string }) => void queries.push(query.sql);
      second.keygate.db.knex.on('query', onQuery);
      const response = await requestToken(second.http, { clientId: enabled.keypair.clientId, clientSecret: enabled.clientSecret });
      second.keygate.db.knex.off('query', onQuery);
      expect(response.status).toBe(200);
      expect(queries).toEqual([]);

      // Disabled keypairs are not preloaded; a change drops a preloaded one.
      expect((await requestToken(second.http, { clientId: disabled.keypair.clientId, clientSecret: disabled.clientSecret })).status).toBe(401);
      await second.keygate.keypairs.disableKeypair(OPERATOR, enabled.keypair.clientId);
      expect((await requestToken(second.http, { clientId: enabled.keypair.clientId, clientSecret: enabled.clientSecret })).status).toBe(401);
    } finally {
      await second.close();
    }
  });

  it('a cached keypair is read again once older than CLIENT_CACHE_MAX_AGE, even when no change notice came', async () => {
    const tenant = await createTenant(kg.keygate);
    const { keypair, clientSecret } = await createKeypair(kg.keygate, { owner: { environmentId: tenant.environmentId } });
    const client = { clientId: keypair.clientId, clientSecret };
    expect((await requestToken(kg.http, client)).status).toBe(200);
    // A change whose notice never arrives (written behind Keygate's back, as a lost NOTIFY would leave it).
    await kg.keygate.db.knex('keypairs').where({ client_id: keypair.clientId }).update({ enabled: false });
    expect((await requestToken(kg.http, client)).status).toBe(200);
    kg.clock.advance(kg.keygate.config.clientCacheMaxAgeSeconds - 1);
    expect((await requestToken(kg.http, client)).status).toBe(200);
    kg.clock.advance(1);
    expect((await requestToken(kg.http, client)).status).toBe(401);
  });
});

// The misses must outlast one read to be read together: a table lock holds the first
// read, which only PostgreSQL can do (PGlite is one session whatever the connection).
describe.runIf(process.env.TEST_DATABASE_URL)('keypairs used for the first time together', () => {
  it('are read in a few queries while the database is slow, not one per request, and each gets its own token', async () => {
    const tenant = await createTenant(kg.keygate);
    // Created after the cache was preloaded: each one's first request is a miss.
    const created = await Promise.all(Array.from({ length: 24 }, () => createKeypair(kg.keygate, { owner: { environmentId: tenant.environmentId } })));
    const server = createServer(kg.keygate.callback());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    // Every connection open first, then every request written at once: they reach the
    // server together, as a burst of new clients does.
    const sockets = await Promise.all(created.map(() => new Promise<Socket>((resolve) => { const socket = connect(port, '127.0.0.1', () => resolve(socket)); })));
    const credentialReads: string[] = [];
    const onQuery = (query: { sql: string }) => {
      if (query.sql.includes('from keypairs k')) credentialReads.push(query.sql);
    };
    kg.keygate.db.knex.on('query', onQuery);
    const lock = await kg.keygate.db.knex.transaction();
    await lock.raw('lock table keypairs in access exclusive mode');
    try {
      const answers = sockets.map((socket) => new Promise<string>((resolve) => { let text = ''; socket.on('data', (chunk) => (text += chunk)); socket.on('end', () => resolve(text)); }));
      created.forEach(({ keypair, clientSecret }, i) => {
        const body = 'grant_type=client_credentials';
        const basic = Buffer.from(`${keypair.clientId}:${clientSecret}`).toString('base64');
        sockets[i]!.write(`POST /token HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nAuthorization: Basic ${basic}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
      });
      // Long enough for every request to reach its keypair read; short of the statement timeout.
      await new Promise((resolve) => setTimeout(resolve, 600));
      await lock.rollback();
      const responses = await Promise.all(answers);
      expect(responses.map((response) => response.split(' ', 2)[1])).toEqual(created.map(() => '200'));
      // Each token names its own keypair: no request got another's credentials.
      const subjects = responses.map((response) => JSON.parse(Buffer.from(JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4)).access_token.split('.')[1], 'base64url').toString()).client_id);
      expect(subjects).toEqual(created.map(({ keypair }) => keypair.clientId));
    } finally {
      if (!lock.isCompleted()) await lock.rollback();
      kg.keygate.db.knex.off('query', onQuery);
      server.close();
    }
    // The first read waited on the lock; every miss that came meanwhile was read with the next.
    expect(credentialReads.length).toBeGreaterThan(0);
    expect(credentialReads.length).toBeLessThanOrEqual(3);
  });
});
