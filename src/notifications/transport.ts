import nodemailer from 'nodemailer';
import type { Logger } from '../shared/log.js';

export interface Message {
  readonly to: readonly string[];
  readonly subject: string;
  readonly text: string;
}

/** Sends one message; rejects when it was not accepted, so the outbox tries again. */
export interface Transport {
  send(message: Message): Promise<void>;
  close(): void;
}

/** Email over SMTP (SMTP_URL), from MAIL_FROM. */
export function smtpTransport(smtpUrl: string, from: string): Transport {
  const mailer = nodemailer.createTransport(smtpUrl);
  return {
    async send(message) {
      await mailer.sendMail({ from, to: [...message.to], subject: message.subject, text: message.text });
    },
    close: () => mailer.close(),
  } satisfies Transport;
}

/** Without SMTP_URL: each message becomes a log line, so a new install still shows what it would send. */
export function logTransport(log: Logger): Transport {
  return {
    send(message) {
      log.info('notification', { to: message.to, subject: message.subject, text: message.text });
      return Promise.resolve();
    },
    close: () => undefined,
  } satisfies Transport;
}
