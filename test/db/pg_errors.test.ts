import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditHistory } from '../../src/audit/query.js';
import { isDatabaseUnavailable, pgErrorMeaning, translatePgError } from '../../src/db/errors.js';
import { KeygateError } from '../../src/shared/errors.js';
import { newId } from '../../src/shared/ids.js';
import { insertMembership, insertUser } from '../../src/tenancy/user_store.js';
import { createUser, type TestUser } from '../support/admin.js';
import { createTenant, OPERATOR, startTestKeygate, type Tenant, type TestKeygate } from '../support/keygate.js';

/**
 * PostgreSQL's refusals, translated where the stores call the database: each reaches
 * the client as a precise 4xx (or a 503 with Retry-After), never a 500. Where the edge
 * validation refuses the input first, the store or the translator is the nearest public
 * path, and is tested there; the races that only PostgreSQL's locks can stage run in
 * the PostgreSQL pass (TEST_DATABASE_URL).
 */
const onPostgres = process.env.TEST_DATABASE_URL !== undefined;

let kg: TestKeygate;
let tenant: Tenant;
let operator: TestUser;

beforeAll(async () => {
  kg = await startTestKeygate();
  tenant = await createTenant(kg.keygate);
  operator = await createUser(kg.keygate, { operator: true });
});
afterAll(() => kg.close());

/** The error a promise rejects with. */
async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.unreachable('expected a failure'),
    (error: unknown) => error,
  );
}

function expectKeygateError(error: unknown, code: KeygateError['code']): KeygateError {
  expect(error, String(error)).toBeInstanceOf(KeygateError);
  expect((error as KeygateError).code).toBe(code);
  return error as KeygateError;
}

const email = () => `${newId('user').slice(4, 14).toLowerCase()}@pg-errors.test`;
const knex = () => kg.keygate.db.knex;

describe('23505 unique violation: 409', () => {
  it('two concurrent creates of one user over the admin API: one 201, one 409, no 500', async () => {
    const address = email();
    const responses = await Promise.all([0, 1].map((n) => kg.http.post('/admin/v1/users').set('Authorization', operator.bearer).send({ email: address, name: `twin ${n}` })));
    expect(responses.map((response) => response.status).sort()).toEqual([201, 409]);
    const conflict = responses.find((response) => response.status === 409)!;
    expect(conflict.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(conflict.body).toMatchObject({ code: 'conflict', detail: 'A user with this email exists.' });
    expect(await knex()('users').where({ email: address }).count<{ count: number }[]>({ count: '*' })).toEqual([{ count: 1 }]);
  });

  it('the users store: an email taken meanwhile is a conflict naming the email', async () => {
    const address = email();
    await knex().transaction((trx) => insertUser(trx, { id: newId('user'), email: address, name: '', isOperator: false }, new Date()));
    const error = await failure(knex().transaction((trx) => insertUser(trx, { id: newId('user'), email: address.toUpperCase(), name: '', isOperator: false }, new Date())));
    expect(expectKeygateError(error, 'conflict').message).toBe('A user with this email exists.');
  });

  it.runIf(onPostgres)('an insert that waited on the unique index for a concurrent create: 409 from the store, not 500', async () => {
    const address = email();
    // The concurrent create: inserted, not yet committed, so the API's check before its insert sees nothing.
    const concurrent = await knex().transaction();
    try {
      await concurrent('users').insert({ id: newId('user'), email: address, name: 'first' });
      const response = kg.http.post('/admin/v1/users').set('Authorization', operator.bearer).send({ email: address, name: 'second' }).then((answer) => answer);
      await untilWaitingOnLock(knex(), 'insert into "users"', response);
      await concurrent.commit();
      const answer = await response;
      expect(answer.status, JSON.stringify(answer.body)).toBe(409);
      expect(answer.body).toMatchObject({ code: 'conflict', detail: 'A user with this email exists.' });
    } finally {
      if (!concurrent.isCompleted()) await concurrent.rollback();
    }
  });
});

describe('23503 foreign key violation: 404 or 409 as it means', () => {
  it('the memberships store: a grant to a user that does not exist (any more) is a 404', async () => {
    const error = await failure(knex().transaction((trx) => insertMembership(trx, { id: newId('membership'), userId: newId('user'), scope: { accountId: tenant.accountId } }, new Date())));
    expect(expectKeygateError(error, 'not_found').message).toBe('User not found.');
  });

  it.runIf(onPostgres)('a grant to a user deleted under it (the grant waited on the row): 404 over the admin API, nothing written', async () => {
    const user = await createUser(kg.keygate);
    const deleting = await knex().transaction();
    try {
      await deleting('users').where({ id: user.id }).delete();
      const response = kg.http.put(`/admin/v1/accounts/${tenant.accountId}/admins/${user.id}`).set('Authorization', operator.bearer).then((answer) => answer);
      await untilWaitingOnLock(knex(), 'insert into "memberships"', response);
      await deleting.commit();
      const answer = await response;
      expect(answer.status, JSON.stringify(answer.body)).toBe(404);
      expect(answer.body).toMatchObject({ code: 'not_found', detail: 'User not found.' });
      expect(await knex()('audit_events').where({ target_id: user.id, action: 'membership.granted' }).count<{ count: number }[]>({ count: '*' })).toEqual([{ count: 0 }]);
    } finally {
      if (!deleting.isCompleted()) await deleting.rollback();
    }
  });
});

describe('22P02, 22007, 22008 (and CHECK): 400 validation_failed', () => {
  // The admin API's schemas refuse these values first (whole numbers, ISO dates from 0001 to 9999):
  // the services the console and the CLI call, and the translator itself, are the nearest public paths.

  it('22P02: a rate limit that is not a whole number, given to the keypair service, is a 400 and writes nothing', async () => {
    const name = `fractional ${Date.now()}`;
    const error = await failure(kg.keygate.keypairs.createKeypair(OPERATOR, { owner: { environmentId: tenant.environmentId }, name, rateLimitPerMinute: 60.5 }));
    expectKeygateError(error, 'validation_failed');
    expect(await knex()('keypairs').where({ name }).count<{ count: number }[]>({ count: '*' })).toEqual([{ count: 0 }]);
  });

  it('22008: a history filter before the database\'s first date is a 400', async () => {
    const error = await failure(new AuditHistory(knex()).list({ accountId: tenant.accountId, from: new Date('-200000-01-01T00:00:00Z') }, { limit: 10 }));
    expect(expectKeygateError(error, 'validation_failed').message).toMatch(/date-time the database cannot hold/);
  });

  it('22007 and 22P02 as PostgreSQL raises them: validation_failed naming the field given', async () => {
    for (const statement of ["select 'not a date'::timestamptz", "select 'x'::integer"]) {
      const raised = await failure(knex().raw(statement));
      expect(['22007', '22P02']).toContain((raised as { code: string }).code);
      const error = expectKeygateError(pgErrorMeaning(raised, { field: 'expiresAt' }), 'validation_failed');
      expect(error.details.errors?.map((field) => field.field)).toEqual(['expiresAt']);
      expect(error.cause).toBe(raised);
    }
  });

  it('23514: a CHECK refusal (an account name longer than the column holds, given to the tenancy service) is a 400 naming name', async () => {
    const error = expectKeygateError(await failure(kg.keygate.tenancy.createAccount(OPERATOR, 'x'.repeat(101))), 'validation_failed');
    expect(error.details.errors?.map((field) => field.field)).toEqual(['name']);
  });

  it('leaves alone what is no refusal of a value: a Keygate error, a missing table, an unreachable database', async () => {
    const domain = new KeygateError('forbidden', 'no');
    expect(() => translatePgError(domain, { unique: 'x' })).toThrow(domain);
    const missing = await failure(knex().raw('select * from no_such_table'));
    expect(pgErrorMeaning(missing)).toBeUndefined();
    expect(pgErrorMeaning(Object.assign(new Error('canceling statement due to statement timeout'), { code: '57014' }))).toBeUndefined();
  });
});

describe.runIf(onPostgres)('57014 statement timeout: 503 with Retry-After', () => {
  let slow: TestKeygate;
  beforeAll(async () => {
    slow = await startTestKeygate({ DATABASE_STATEMENT_TIMEOUT: '1' });
  });
  afterAll(() => slow?.close());

  it('a change that waits on a row lock past DATABASE_STATEMENT_TIMEOUT answers 503, and changes nothing', async () => {
    const { accountId } = await createTenant(slow.keygate);
    const bearer = `Bearer ${(await createUser(slow.keygate, { operator: true })).token}`;
    const holder = await knex().transaction();
    try {
      await holder('accounts').where({ id: accountId }).forUpdate().first();
      const answer = await slow.http.patch(`/admin/v1/accounts/${accountId}`).set('Authorization', bearer).send({ name: 'renamed while locked' });
      expect(answer.status, JSON.stringify(answer.body)).toBe(503);
      expect(answer.headers['retry-after']).toBe('5');
      expect(answer.body.code).toBe('database_unavailable');
    } finally {
      await holder.rollback();
    }
    expect((await knex()('accounts').where({ id: accountId }).first()).name).toBe('Test account');
  });

  it('PostgreSQL\'s own 57014 is unavailability, decided in one place', async () => {
    const raised = await failure(knex().transaction(async (trx) => {
      await trx.raw('set local statement_timeout = 50');
      await trx.raw('select pg_sleep(1)');
    }));
    expect((raised as { code: string }).code).toBe('57014');
    expect(isDatabaseUnavailable(raised)).toBe(true);
    expect(pgErrorMeaning(raised)).toBeUndefined();
  });
});

/**
 * Waits until a statement starting with `statement` waits on a lock (another connection
 * holds the row), or `answer` settles first (the request did not wait: the test fails on it).
 */
async function untilWaitingOnLock(db: Knex, statement: string, answer: Promise<unknown>): Promise<void> {
  let settled = false;
  const settle = () => {
    settled = true;
  };
  answer.then(settle, settle);
  while (!settled) {
    const waiting = await db.raw<{ rows: unknown[] }>("select 1 from pg_stat_activity where wait_event_type = 'Lock' and query like ?", [`${statement}%`]);
    if (waiting.rows.length > 0) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
}
