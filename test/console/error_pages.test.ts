import Koa from 'koa';
import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorPages } from '../../src/console/routes/errors.js';
import { KeygateError, type ErrorCode } from '../../src/shared/errors.js';
import { createLogger } from '../../src/shared/log.js';
import { createUser, type TestUser } from '../support/admin.js';
import { consoleSession, type ConsoleSession } from '../support/console.js';
import { OPERATOR, startTestKeygate, type TestKeygate } from '../support/keygate.js';

/** Every error code with the status the admin API gives it: the console's pages answer the same. */
const STATUSES: Record<ErrorCode, number> = {
  validation_failed: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  limit_reached: 409,
  precondition_failed: 412,
  payload_too_large: 413,
  unsupported_media_type: 415,
};

describe('console error pages', () => {
  it('renders every error code as a page with its own status and message, never a 500', async () => {
    for (const [code, status] of Object.entries(STATUSES) as Array<[ErrorCode, number]>) {
      const app = new Koa();
      app.use(errorPages({ log: createLogger('silent') }));
      app.use(() => {
        throw new KeygateError(code, `The ${code} message.`, code === 'validation_failed' ? { errors: [{ field: 'name', message: 'is required' }] } : {});
      });
      const response = await supertest(app.callback()).get('/console/anything');
      expect(response.status, code).toBe(status);
      expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(response.text).toMatch(/^<!doctype html>/);
      expect(response.text).not.toContain('Something went wrong');
      if (code === 'validation_failed') expect(response.text).toContain('<li><strong>name</strong> is required</li>');
      else expect(response.text, code).toContain(`The ${code} message.`);
    }
  });
});

describe('console error pages over HTTP', () => {
  let kg: TestKeygate;
  let operator: TestUser;
  let session: ConsoleSession;
  const http = () => supertest(kg.keygate.callback());

  beforeAll(async () => {
    kg = await startTestKeygate();
    operator = await createUser(kg.keygate, { operator: true });
    session = await consoleSession(kg, operator.email);
  });
  afterAll(() => kg.close());

  const post = (url: string, form: Record<string, string>) => http().post(url).set('Cookie', session.cookie).type('form').send({ _csrf: session.csrf, ...form });

  it('a conflict is a 409 page saying what conflicts: granting admin to an address whose user exists in another case', async () => {
    const existing = `Mixed.${Date.now()}@Example.test`;
    await kg.keygate.tenancy.createUser(OPERATOR, { email: existing, name: 'Mixed', isOperator: false });
    const account = await kg.keygate.tenancy.createAccount(OPERATOR, 'Conflict account');
    const response = await post('/console/operator/admins', { email: existing.toLowerCase(), name: '', scope: `account:${account.id}` });
    expect(response.status).toBe(409);
    expect(response.text).toContain('<title>Conflict · Keygate</title>');
    expect(response.text).toContain('A user with this email exists.');
    expect(await kg.keygate.db.knex('users').whereRaw('lower(email) = lower(?)', [existing]).count<Array<{ count: string | number }>>('* as count').then(([row]) => Number(row!.count))).toBe(1);
  });

  it('not found, a form with unstorable text and a form too large keep their 404, 400 and 413 pages', async () => {
    const missing = await http().get('/console/keypairs/kp_doesnotexist').set('Cookie', session.cookie);
    expect(missing.status).toBe(404);
    expect(missing.text).toContain('Keypair not found.');
    const unstorable = await post('/console/operator/accounts', { name: 'a\u0000b' });
    expect(unstorable.status).toBe(400);
    expect(unstorable.text).toContain('<title>Not accepted · Keygate</title>');
    const large = await post('/console/operator/accounts', { name: 'a'.repeat(70_000) });
    expect(large.status).toBe(413);
    expect(large.text).toContain('The form is too large.');
  });
});
