import { destination as pinoDestination, pino, stdTimeFunctions, type DestinationStream, type Logger as PinoLogger } from 'pino';
import type { LogLevel } from '../config/config.js';

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  /** A logger whose every line also carries `bindings` (a request id, say). */
  child(bindings: Record<string, unknown>): Logger;
}

/**
 * Field names that may hold a secret or a credential, wherever they appear in a log
 * line: pino replaces their values before the line is written. Callers still pass
 * ids and counts only; this is the second line of defence.
 */
const REDACTED_PATHS = [
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'client_secret',
  '*.client_secret',
  'clientSecret',
  '*.clientSecret',
  'secret',
  '*.secret',
  'password',
  '*.password',
  'token',
  '*.token',
  'access_token',
  '*.access_token',
];

function wrap(instance: PinoLogger): Logger {
  return {
    debug: (msg, fields) => instance.debug(fields ?? {}, msg),
    info: (msg, fields) => instance.info(fields ?? {}, msg),
    warn: (msg, fields) => instance.warn(fields ?? {}, msg),
    error: (msg, fields) => instance.error(fields ?? {}, msg),
    child: (bindings) => wrap(instance.child(bindings)),
  };
}

/** Structured JSON lines (pino) on stdout, or on `destination` (tests read it). */
export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  const instance = pino(
    {
      level,
      base: { service: 'keygate' },
      timestamp: stdTimeFunctions.isoTime,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    destination ?? pinoDestination({ fd: 1, sync: true }),
  );
  return wrap(instance);
}
