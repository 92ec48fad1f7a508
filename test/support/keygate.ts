import { mkdtemp } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import knexFactory, { type Knex } from 'knex';
import supertest from 'supertest';
import { inject } from 'vitest';
import { startKeygate, type Keygate } from '../../src/app.js';
import type { Actor } from '../../src/audit/store.js';
import { loadConfig } from '../../src/config/config.js';
import type { CreateKeypairInput } from '../../src/keypairs/service.js';
import { insertResourceServer } from '../../src/resource_servers/store.js';
import type { Clock } from '../../src/shared/clock.js';
import type { Logger } from '../../src/shared/log.js';
import { newId } from '../../src/shared/ids.js';

/** A clock tests move by hand: Keygate's expiry rules read it, nothing sleeps. */
export class TestClock implements Clock {
  #ms = Date.now();
  #advanced = 0;
  now(): Date {
    return new Date(this.#ms);
  }
  advance(seconds: number): void {
    this.#ms += seconds * 1000;
    this.#advanced += seconds * 1000;
  }
  /**
   * Real time plus every advance: for a resource server's verifier, which checks the
   * iat of tokens oidc-provider stamps with the real time, yet must see the same
   * jumps (past a ttl, past a grace period) as Keygate.
   */
  readonly alongsideRealTime = (): Date => new Date(Date.now() + this.#advanced);
}

export const TEST_ISSUER = 'http://keygate.test';

/**
 * This test file's database: TEST_DATABASE_URL, or its worker's own PGlite, which runs
 * no other file while this one runs (see global_setup.ts).
 */
export function testDatabaseUrl(): string {
  const urls = inject('databaseUrls');
  const worker = Number(process.env.VITEST_POOL_ID ?? '1');
  return urls[(worker - 1) % urls.length]!;
}
export const OPERATOR: Actor = { type: 'operator', id: 'usr_test_operator' };

export interface TestKeygate {
  readonly keygate: Keygate;
  readonly clock: TestClock;
  readonly http: supertest.Agent;
  readonly dir: string;
  close(): Promise<void>;
}

/** Keygate on the run's shared database, with its own key file and a hand-moved clock. */
export async function startTestKeygate(env: Record<string, string> = {}, options: { log?: Logger } = {}): Promise<TestKeygate> {
  const dir = await mkdtemp(path.join(tmpdir(), 'keygate-test-'));
  // On a PGlite, one connection per Keygate, as embedded mode has (see database.ts).
  const poolMax = process.env.TEST_DATABASE_URL ? '10' : '1';
  const config = loadConfig({ DATABASE_URL: testDatabaseUrl(), DATABASE_POOL_MAX: poolMax, KEYS_FILE: path.join(dir, 'jwks.json'), LOG_LEVEL: 'silent', ISSUER: TEST_ISSUER, ...env }, dir);
  const clock = new TestClock();
  const keygate = await startKeygate(config, { clock, ...(options.log && { log: options.log }) });
  return { keygate, clock, http: supertest.agent(keygate.callback()), dir, close: () => keygate.close() };
}

/**
 * A database for one test file alone, where files share one (on PostgreSQL): for tests
 * of background workers that would otherwise take other files' rows. On PGlite, the
 * worker's own database already runs no other file.
 */
export async function ownDatabase(name: string): Promise<{ env: Record<string, string>; drop(): Promise<void> }> {
  const serverUrl = process.env.TEST_DATABASE_URL;
  if (!serverUrl) return { env: {}, drop: async () => undefined };
  const database = `keygate_${name}_${process.pid}`;
  const admin = knexFactory({ client: 'pg', connection: serverUrl });
  await admin.raw(`drop database if exists ${database}`);
  await admin.raw(`create database ${database}`);
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return {
    env: { DATABASE_URL: url.toString() },
    async drop() {
      await admin.raw(`drop database if exists ${database} with (force)`);
      await admin.destroy();
    },
  };
}

/** Serves a Keygate on a loopback port (for clients that need a real URL, like a remote JWKS). */
export async function listen(keygate: Keygate): Promise<{ url: string; server: Server; close(): Promise<void> }> {
  const server = createServer(keygate.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

export interface Tenant {
  readonly accountId: string;
  readonly environmentId: string;
}

/** A fresh account with one environment, so each test file's data stands apart. */
export async function createTenant(keygate: Keygate): Promise<Tenant> {
  const accountId = newId('account');
  const environmentId = newId('environment');
  await keygate.db.knex('accounts').insert({ id: accountId, name: 'Test account' });
  await keygate.db.knex('environments').insert({ id: environmentId, account_id: accountId, name: 'test' });
  return { accountId, environmentId };
}

/** A resource server with its own identifier and catalogue, loaded into the catalog. */
export async function createResourceServer(keygate: Keygate, scopes: string[], accessTokenTtl = 300): Promise<string> {
  const identifier = `https://api-${newId('resourceServer').slice(3, 11).toLowerCase()}.test/`;
  await keygate.db.knex.transaction((trx) =>
    insertResourceServer(trx, {
      id: newId('resourceServer'),
      identifier,
      name: 'Test API',
      scopes: scopes.map((name) => ({ name, description: name })),
      accessTokenTtl,
      isDefault: false,
    }, new Date()),
  );
  await keygate.catalog.reload();
  return identifier;
}

export async function createKeypair(keygate: Keygate, input: Partial<CreateKeypairInput> & Pick<CreateKeypairInput, 'owner'>) {
  return keygate.keypairs.createKeypair(OPERATOR, { name: 'test keypair', scopes: ['read', 'write'], ...input });
}

/** POST /token with client_secret_basic (or post), returning the supertest response. */
export function requestToken(
  http: supertest.Agent,
  credentials: { clientId: string; clientSecret: string },
  params: Record<string, string> = {},
  auth: 'basic' | 'post' = 'basic',
) {
  const request = http.post('/token').type('form');
  if (auth === 'basic') {
    return request.auth(credentials.clientId, credentials.clientSecret).send({ grant_type: 'client_credentials', ...params });
  }
  return request.send({ grant_type: 'client_credentials', client_id: credentials.clientId, client_secret: credentials.clientSecret, ...params });
}

export interface ServedKeygate extends TestKeygate {
  /** The loopback URL, which is also the ISSUER, so tokens' iss and URIs point at it. */
  readonly issuer: string;
}

/**
 * Keygate on a loopback port whose ISSUER is that port's URL, for resource-server
 * tests that fetch discovery, JWKS and status lists over HTTP. `intercept` sees each
 * request first and answers it itself by returning true.
 */
export async function startServedKeygate(
  env: Record<string, string> = {},
  intercept: (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => boolean = () => false,
): Promise<ServedKeygate> {
  let handler: ReturnType<Keygate['callback']> | undefined;
  const server = createServer((req, res) => {
    if (!intercept(req, res)) void handler?.(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const kg = await startTestKeygate({ ISSUER: issuer, ...env });
  handler = kg.keygate.callback();
  return {
    ...kg,
    issuer,
    async close() {
      server.closeAllConnections();
      server.close();
      await kg.close();
    },
  };
}

/**
 * Runs `request` while a transaction on `db` holds `table` locked (access exclusive),
 * so every statement on that table from another connection waits out
 * DATABASE_STATEMENT_TIMEOUT: a database that does not answer, caused for real.
 */
export async function whileTableLocked<T>(db: Knex, table: string, request: () => PromiseLike<T>): Promise<T> {
  const trx = await db.transaction();
  try {
    await trx.raw('lock table ?? in access exclusive mode', [table]);
    return await request();
  } finally {
    await trx.rollback();
  }
}
