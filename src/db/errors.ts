import { KeygateError, type FieldError } from '../shared/errors.js';

/**
 * PostgreSQL's error codes (SQLSTATE) that Keygate translates: a store that calls the
 * database passes each failure through translatePgError, so a refusal of the database
 * reaches the client as the precise 4xx it is, never a 500.
 */
const PG = {
  /** A concurrent insert won the race for the same key. */
  uniqueViolation: '23505',
  /** The row referred to is gone (deleted under a concurrent change). */
  foreignKeyViolation: '23503',
  /** A CHECK constraint: the last line behind the edge's validation. */
  checkViolation: '23514',
  stringTooLong: '22001',
  numericOutOfRange: '22003',
  invalidDateTimeFormat: '22007',
  dateTimeOutOfRange: '22008',
  /** NUL in text, and bytes that are not UTF-8. */
  characterNotInRepertoire: '22021',
  invalidTextRepresentation: '22P02',
  untranslatableCharacter: '22P05',
} as const;

/** Data exceptions: a value the column cannot hold, which only a request could have put there. */
const BAD_VALUE_CODES: ReadonlySet<string> = new Set([
  PG.checkViolation,
  PG.stringTooLong,
  PG.numericOutOfRange,
  PG.invalidDateTimeFormat,
  PG.dateTimeOutOfRange,
  PG.characterNotInRepertoire,
  PG.invalidTextRepresentation,
  PG.untranslatableCharacter,
]);

const DATE_TIME_CODES: ReadonlySet<string> = new Set([PG.invalidDateTimeFormat, PG.dateTimeOutOfRange]);

/** The fields of a pg error that translation reads (pg and PGlite over its socket both set them). */
interface PgError {
  readonly code: string;
  readonly constraint?: string | undefined;
}

function asPgError(error: unknown): PgError | undefined {
  if (typeof error !== 'object' || error === null || error instanceof KeygateError) return undefined;
  const { code, constraint } = error as { code?: unknown; constraint?: unknown };
  // SQLSTATE: five digits or capitals. Node's own codes (ECONNRESET, ...) are longer.
  if (typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code)) return undefined;
  return { code, constraint: typeof constraint === 'string' ? constraint : undefined };
}

/**
 * What a store's call means, for the errors it can meet. Every part is optional: what
 * is not said gets a generic but still precise answer (409 for a duplicate, 400 for a
 * value the database refuses).
 */
export interface PgErrorContext {
  /**
   * A duplicate key (23505): the 409's message, one for every constraint or one per
   * constraint (or unique index) name, with `default` for the others.
   */
  readonly unique?: string | Readonly<Record<string, string>>;
  /**
   * A row referred to is gone (23503): `not_found` when the caller named it (the user of
   * a grant), `conflict` when it vanished under a concurrent change (the owner closed).
   */
  readonly foreignKey?: { readonly code: 'not_found' | 'conflict'; readonly message: string };
  /** The request field a refused value (22P02, 22007/22008, 23514, ...) came from, when one did. */
  readonly field?: string;
}

function uniqueMessage(context: PgErrorContext, constraint: string | undefined): string {
  const { unique } = context;
  if (typeof unique === 'string') return unique;
  return (constraint !== undefined ? unique?.[constraint] : undefined) ?? unique?.default ?? 'This already exists.';
}

/**
 * The KeygateError a PostgreSQL failure means, or undefined when it is not one to
 * translate. Unavailability (57014 statement timeout, lost connections, shutdown) is
 * not translated here: it can arise outside any store's call (BEGIN, COMMIT, the pool),
 * so the renderers ask isDatabaseUnavailable and answer 503 with Retry-After.
 */
export function pgErrorMeaning(error: unknown, context: PgErrorContext = {}): KeygateError | undefined {
  const pg = asPgError(error);
  if (!pg) return undefined;
  if (pg.code === PG.uniqueViolation) return new KeygateError('conflict', uniqueMessage(context, pg.constraint), { cause: error });
  if (pg.code === PG.foreignKeyViolation) {
    const meaning = context.foreignKey ?? { code: 'conflict', message: 'Something this change refers to was removed meanwhile; fetch it again.' };
    return new KeygateError(meaning.code, meaning.message, { cause: error });
  }
  if (BAD_VALUE_CODES.has(pg.code)) {
    const message = DATE_TIME_CODES.has(pg.code) ? 'is a date-time the database cannot hold' : 'is a value the database does not accept';
    const errors: FieldError[] | undefined = context.field === undefined ? undefined : [{ field: context.field, message }];
    return new KeygateError('validation_failed', errors ? 'The request has invalid fields.' : `A value of the request ${message}.`, { cause: error, ...(errors && { errors }) });
  }
  return undefined;
}

/**
 * Throws what a PostgreSQL failure means for the client (see pgErrorMeaning), or the
 * error itself when it means nothing more precise. For a store's `.catch`:
 *
 * @example
 * await trx('users').insert(row).catch((error: unknown) => translatePgError(error, { unique: 'A user with this email exists.' }));
 */
export function translatePgError(error: unknown, context: PgErrorContext = {}): never {
  throw pgErrorMeaning(error, context) ?? error;
}

/** Runs one query (a knex builder is a thenable) with its failures translated. */
export async function withPgErrors<T>(query: PromiseLike<T>, context: PgErrorContext = {}): Promise<T> {
  try {
    return await query;
  } catch (error) {
    return translatePgError(error, context);
  }
}

/**
 * Whether `error` is PostgreSQL refusing a duplicate key (from pg, or PGlite over its
 * socket), optionally of one named constraint or index: for a store that treats the
 * race as an outcome rather than a failure (a grant made twice is simply granted).
 */
export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  const pg = asPgError(error);
  return pg?.code === PG.uniqueViolation && (constraint === undefined || pg.constraint === constraint);
}

/** Seconds a client should wait before retrying after a 503 caused by the database. */
export const DATABASE_RETRY_AFTER_SECONDS = 5;

/**
 * True when `error` says the database is unreachable, hung or shedding load (a
 * timeout, a refused or dropped connection, a server shutting down), as opposed to
 * a bad statement: callers answer 503 with Retry-After rather than 500. The one place
 * that decides it, for the admin API, the console and the token path.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth += 1) {
    const { code, name, message } = current as Error & { code?: unknown };
    if (name === 'KnexTimeoutError') return true;
    if (typeof code === 'string') {
      // 08: connection exception; 57014: statement_timeout; 57P0x: shutting down; 53300: too many connections.
      if (code.startsWith('08') || code === '57014' || code.startsWith('57P') || code === '53300') return true;
      if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE'].includes(code)) return true;
    }
    // knex puts the statement before the driver's message.
    if (/(Query read timeout|Connection terminated|timeout expired|Client has encountered a connection error|Connection ended unexpectedly)/.test(message)) return true;
  }
  return false;
}
