import type { AddressInfo } from 'node:net';
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { createUser, type TestUser } from '../support/admin.js';
import { createKeypair, createTenant, OPERATOR, ownDatabase, startTestKeygate, type Tenant, type TestKeygate } from '../support/keygate.js';

interface Received {
  from: string;
  to: string[];
  raw: string;
}

/** A real SMTP server on loopback; `rejectNext` makes it refuse that many messages with a 451. */
class MailCatcher {
  readonly received: Received[] = [];
  rejectNext = 0;
  readonly server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData: (stream, session, callback) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        if (this.rejectNext > 0) {
          this.rejectNext -= 1;
          callback(Object.assign(new Error('mailbox busy, try later'), { responseCode: 451 }));
          return;
        }
        this.received.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((recipient) => recipient.address).sort(),
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        callback();
      });
    },
  });

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `smtp://127.0.0.1:${(this.server.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** Bytes of quoted-printable text (`=XX` escapes; `_` is a space in header words). */
function quotedPrintable(text: string, underscoreIsSpace: boolean): string {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i += 1) {
    if (text[i] === '=' && /^[0-9A-F]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(underscoreIsSpace && text[i] === '_' ? 32 : text.charCodeAt(i));
  }
  return Buffer.from(bytes).toString('utf8');
}

/** The subject and body of a message as sent: header folding, RFC 2047 words and quoted-printable undone. */
function readMessage(raw: string): { subject: string; text: string } {
  const [head = '', ...body] = raw.split('\r\n\r\n');
  const headers = head.replace(/\r\n[ \t]+/g, ' ');
  const subjectLine = /^Subject: (.*)$/m.exec(headers)?.[1] ?? '';
  const subject = subjectLine.replace(/=\?UTF-8\?Q\?(.*?)\?=\s*/gi, (_, word: string) => quotedPrintable(word, true));
  return { subject, text: quotedPrintable(body.join('\r\n\r\n').replace(/=\r\n/g, ''), false) };
}

let mail: MailCatcher;
let database: Awaited<ReturnType<typeof ownDatabase>>;
let kg: TestKeygate;
let tenant: Tenant;
let environmentAdmin: TestUser;
let accountAdmin: TestUser;
let otherEnvironmentAdmin: TestUser;

beforeAll(async () => {
  mail = new MailCatcher();
  const smtpUrl = await mail.start();
  // The workers of other files' Keygates would deliver this file's notifications: a database of its own.
  database = await ownDatabase('notifications');
  kg = await startTestKeygate({ ...database.env, SMTP_URL: smtpUrl, MAIL_FROM: 'Keygate <keygate@example.test>' });
  // Earlier files' notifications are theirs, not this file's to deliver.
  await kg.keygate.db.knex('notification_outbox').whereNull('delivered_at').update({ delivered_at: new Date() });
  tenant = await createTenant(kg.keygate);
  const other = await kg.keygate.tenancy.createEnvironment(OPERATOR, tenant.accountId, 'other');
  environmentAdmin = await createUser(kg.keygate, { environments: [{ environmentId: tenant.environmentId, accountId: tenant.accountId }] });
  accountAdmin = await createUser(kg.keygate, { accounts: [tenant.accountId] });
  otherEnvironmentAdmin = await createUser(kg.keygate, { environments: [{ environmentId: other.id, accountId: tenant.accountId }] });
});

afterAll(async () => {
  await kg.close();
  await mail.stop();
  await database.drop();
});

/** Delivers what is due, then returns the messages that arrived since `before`. */
async function deliver(before: number): Promise<Received[]> {
  await kg.keygate.notifications.deliverDue();
  return mail.received.slice(before);
}

describe('notifications', () => {
  it('tells the admins of the environment and the account when a keypair is created, and never sends its secret', async () => {
    const before = mail.received.length;
    const { keypair, clientSecret } = await createKeypair(kg.keygate, { owner: { environmentId: tenant.environmentId }, name: 'billing sync' });
    const messages = await deliver(before);
    expect(messages).toHaveLength(1);
    const [message] = messages;
    expect(message!.from).toBe('keygate@example.test');
    expect(message!.to).toEqual([accountAdmin.email, environmentAdmin.email].sort());
    expect(message!.to).not.toContain(otherEnvironmentAdmin.email);
    const { subject, text } = readMessage(message!.raw);
    expect(subject).toBe('[Keygate] Keypair "billing sync" created');
    expect(text).toContain(keypair.clientId);
    expect(text).toContain(keypair.secretHint!);
    expect(text).not.toContain(clientSecret);
    expect(text).not.toContain(clientSecret.slice(4, 40));

    // Delivered once: a second pass sends nothing more.
    expect(await deliver(mail.received.length)).toHaveLength(0);
  });

  it('says how a keypair without a secret authenticates: its key\'s thumbprint, or the trusted issuer, subject and claims', async () => {
    const operator = await createUser(kg.keygate, { operator: true });
    const { publicKey } = await generateKeyPair('ES256');
    const publicJwk = await exportJWK(publicKey);
    const issuer = `https://cluster-${Date.now()}.notifications.test`;
    const trusted = await kg.http.post('/admin/v1/trusted-issuers').set('Authorization', operator.bearer).send({ issuer, name: 'cluster', jwks: { keys: [{ ...publicJwk, kid: 'k1' }] } });
    expect(trusted.status).toBe(201);
    const path = `/admin/v1/environments/${tenant.environmentId}/keypairs`;
    const before = mail.received.length;
    const keyed = await kg.http.post(path).set('Authorization', environmentAdmin.bearer).send({ name: 'signed by its key', scopes: ['read'], publicKeys: [publicJwk] });
    const federated = await kg.http.post(path).set('Authorization', environmentAdmin.bearer).send({ name: 'a pod', scopes: ['read'], federation: { issuer, subject: 'system:serviceaccount:payments:api', claims: { namespace: 'payments' } } });
    expect([keyed.status, federated.status]).toEqual([201, 201]);

    const texts = new Map((await deliver(before)).map((message) => [readMessage(message.raw).subject, readMessage(message.raw).text]));
    expect(texts.get('[Keygate] Keypair "signed by its key" created')).toContain(`private_key_jwt, signed by a key with thumbprint ${await calculateJwkThumbprint(publicJwk)}`);
    expect(texts.get('[Keygate] Keypair "a pod" created')).toContain(`tokens from the trusted issuer ${issuer}, subject system:serviceaccount:payments:api, namespace = payments`);
    expect(texts.get('[Keygate] Keypair "a pod" created')).not.toContain('Secret:');
  });

  it('reports rotate, disable and delete, each once, with the rotation\'s new secret kept out', async () => {
    const { keypair } = await createKeypair(kg.keygate, { owner: { environmentId: tenant.environmentId }, name: 'reporter' });
    await kg.keygate.notifications.deliverDue();
    const before = mail.received.length;
    const rotated = await kg.keygate.keypairs.rotateSecret({ type: 'user', id: environmentAdmin.id }, keypair.clientId, 3600);
    await kg.keygate.keypairs.disableKeypair({ type: 'user', id: environmentAdmin.id }, keypair.clientId, 'leaked in a log');
    await kg.keygate.keypairs.deleteKeypair({ type: 'user', id: accountAdmin.id }, keypair.clientId);
    const delivered = (await deliver(before)).map((message) => ({ ...readMessage(message.raw), to: message.to }));
    const messages = delivered.map((message) => message.text);
    expect(delivered.map((message) => message.subject)).toEqual([
      '[Keygate] Keypair "reporter" had its secret rotated',
      '[Keygate] Keypair "reporter" disabled',
      '[Keygate] Keypair "reporter" deleted',
    ]);
    expect(messages[0]).toContain(`by User ${environmentAdmin.email} <${environmentAdmin.email}>`);
    expect(messages[0]).toContain('The previous secret works for 3600 more seconds.');
    expect(messages[0]).not.toContain(rotated.clientSecret);
    expect(messages[1]).toContain('Reason: leaked in a log');
  });

  it('keeps a notification through a failed send and delivers it on retry, after the backoff', async () => {
    await kg.keygate.notifications.deliverDue();
    const before = mail.received.length;
    mail.rejectNext = 1;
    const { keypair } = await createKeypair(kg.keygate, { owner: { environmentId: tenant.environmentId }, name: 'retry me' });
    expect(await deliver(before)).toHaveLength(0);
    const [row] = await kg.keygate.db.knex('notification_outbox').where({ client_id: keypair.clientId });
    expect(row).toMatchObject({ event: 'keypair.created', attempts: 1, delivered_at: null, failed_at: null });
    expect(row.last_error).toContain('451');

    // Not due yet: the first retry waits 30 seconds.
    expect(await deliver(before)).toHaveLength(0);
    kg.clock.advance(31);
    const messages = await deliver(before);
    expect(messages).toHaveLength(1);
    expect(readMessage(messages[0]!.raw).subject).toBe('[Keygate] Keypair "retry me" created');
    const [delivered] = await kg.keygate.db.knex('notification_outbox').where({ client_id: keypair.clientId });
    expect(delivered).toMatchObject({ attempts: 2, last_error: null });
    expect(delivered.delivered_at).toBeInstanceOf(Date);
    expect(await deliver(mail.received.length)).toHaveLength(0);
  });

  it('warns once when a keypair is about to expire', async () => {
    await kg.keygate.notifications.deliverDue();
    const before = mail.received.length;
    const soon = await createKeypair(kg.keygate, { owner: { environmentId: tenant.environmentId }, name: 'short lived', expiresAt: new Date(kg.clock.now().getTime() + 3 * 86_400_000) });
    await createKeypair(kg.keygate, { owner: { environmentId: tenant.environmentId }, name: 'long lived', expiresAt: new Date(kg.clock.now().getTime() + 30 * 86_400_000) });
    expect(await kg.keygate.keypairs.warnExpiring(7)).toBeGreaterThanOrEqual(1);
    expect(await kg.keygate.keypairs.warnExpiring(7)).toBe(0);
    const subjects = (await deliver(before)).map((message) => readMessage(message.raw).subject);
    expect(subjects).toContain('[Keygate] Keypair "short lived" expires soon');
    expect(subjects).not.toContain('[Keygate] Keypair "long lived" expires soon');
    const [warning] = await kg.keygate.db.knex('notification_outbox').where({ client_id: soon.keypair.clientId, event: 'keypair.expiring' });
    expect(warning.payload.expiresAt).toBe(soon.keypair.expiresAt!.toISOString());
  });

  it('delivers each notification once when two processes deliver at the same time', async () => {
    const second = await startTestKeygate({ ...database.env, SMTP_URL: `smtp://127.0.0.1:${(mail.server.server.address() as AddressInfo).port}`, MAIL_FROM: 'keygate@example.test' });
    try {
      await kg.keygate.notifications.deliverDue();
      const before = mail.received.length;
      for (let i = 0; i < 6; i += 1) await createKeypair(kg.keygate, { owner: { environmentId: tenant.environmentId }, name: `parallel ${i}` });
      const [first, other] = await Promise.all([kg.keygate.notifications.deliverDue(), second.keygate.notifications.deliverDue()]);
      const subjects = mail.received.slice(before).map((message) => readMessage(message.raw).subject);
      expect(first + other).toBe(6);
      expect(subjects.sort()).toEqual(Array.from({ length: 6 }, (_, i) => `[Keygate] Keypair "parallel ${i}" created`));
    } finally {
      await second.close();
    }
  });

  it('refuses SMTP_URL without MAIL_FROM, and a URL that is not SMTP', () => {
    expect(() => loadConfig({ SMTP_URL: 'smtp://127.0.0.1:25' })).toThrow('MAIL_FROM: required when SMTP_URL is set');
    expect(() => loadConfig({ SMTP_URL: 'http://127.0.0.1:25', MAIL_FROM: 'a@b.test' })).toThrow(/SMTP_URL/);
  });
});
