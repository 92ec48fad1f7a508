import supertest from 'supertest';
import { expect } from 'vitest';
import { mintConsoleLink } from '../../src/console/sign_in.js';
import type { TestKeygate } from './keygate.js';

/** A console session as a browser holds it: the session cookie and the CSRF token its pages carry. */
export interface ConsoleSession {
  readonly cookie: string;
  readonly csrf: string;
}

/**
 * Signs `email` in through a one-time link, as `keygate console-link` makes it, without a
 * cookie jar: each later request carries exactly the session it is given.
 */
export async function consoleSession(kg: TestKeygate, email: string): Promise<ConsoleSession> {
  const http = supertest(kg.keygate.callback());
  const link = await mintConsoleLink(kg.keygate.config, kg.keygate.keySet(), email, Math.floor(kg.clock.now().getTime() / 1000));
  const signedIn = await http.post('/console/sign-in').type('form').send({ token: new URL(link).searchParams.get('token')! });
  expect(signedIn.status).toBe(303);
  const cookie = signedIn.headers['set-cookie']![0]!.split(';')[0]!;
  const home = await http.get('/console').set('Cookie', cookie);
  return { cookie, csrf: /name="_csrf" value="([^"]+)"/.exec(home.text)![1]! };
}
