import { validationFailed, type FieldError } from '../shared/errors.js';

/** A field parser: the parsed value, or the message that explains why not. */
export type Parser<T> = (value: unknown) => { ok: true; value: T } | { ok: false; message: string };
type Output<P> = P extends Parser<infer T> ? T : never;

const ok = <T>(value: T) => ({ ok: true as const, value });
const fail = (message: string) => ({ ok: false as const, message });

/** PostgreSQL text cannot hold NUL; refusing it here keeps it from becoming a 500 there. */
const NUL = '\u0000';

/**
 * A UTF-16 surrogate without its pair (JSON's "\ud800"): no Unicode text holds one,
 * and PostgreSQL refuses it in jsonb (the audit rows), so it is refused at the edge.
 */
const LONE_SURROGATE = /\p{Surrogate}/u;

/** Why `text` cannot be stored as text, or undefined when it can. */
export function unstorableText(text: string): string | undefined {
  if (text.includes(NUL)) return 'must not contain NUL characters';
  if (LONE_SURROGATE.test(text)) return 'must not contain unpaired UTF-16 surrogates (\\uD800 to \\uDFFF alone)';
  return undefined;
}

export function string(options: { min?: number; max: number; pattern?: RegExp; patternMessage?: string; trim?: boolean }): Parser<string> {
  return (value) => {
    if (typeof value !== 'string') return fail('must be a string');
    const unstorable = unstorableText(value);
    if (unstorable) return fail(unstorable);
    const text = options.trim ? value.trim() : value;
    const min = options.min ?? 0;
    if (text.length < min || text.length > options.max) return fail(min > 0 ? `must be ${min} to ${options.max} characters` : `must be at most ${options.max} characters`);
    if (options.pattern && !options.pattern.test(text)) return fail(options.patternMessage ?? 'has an invalid format');
    return ok(text);
  };
}

export const boolean: Parser<boolean> = (value) => (typeof value === 'boolean' ? ok(value) : fail('must be true or false'));

export function integer(min: number, max: number): Parser<number> {
  return (value) => (Number.isInteger(value) && (value as number) >= min && (value as number) <= max ? ok(value as number) : fail(`must be a whole number from ${min} to ${max}`));
}

export function array<T>(item: Parser<T>, options: { max: number; unique?: boolean }): Parser<T[]> {
  return (value) => {
    if (!Array.isArray(value)) return fail('must be an array');
    if (value.length > options.max) return fail(`must have at most ${options.max} items`);
    const out: T[] = [];
    for (const [index, element] of value.entries()) {
      const parsed = item(element);
      if (!parsed.ok) return fail(`item ${index} ${parsed.message}`);
      out.push(parsed.value);
    }
    if (options.unique && new Set(out.map((element) => JSON.stringify(element))).size !== out.length) return fail('must not repeat items');
    return ok(out);
  };
}

export function optional<T>(parser: Parser<T>): Parser<T | undefined> {
  return (value) => (value === undefined ? ok(undefined) : parser(value));
}

export function nullable<T>(parser: Parser<T>): Parser<T | null> {
  return (value) => (value === null ? ok(null) : parser(value));
}

/**
 * The range of date-times the API takes: years 0001 to 9999 (UTC), the four-digit years
 * of ISO 8601, well inside PostgreSQL's timestamptz (4713 BC to 294276 AD).
 */
export const MIN_DATE_TIME = new Date('0001-01-01T00:00:00.000Z');
export const MAX_DATE_TIME = new Date('9999-12-31T23:59:59.999Z');

export function inDateTimeRange(date: Date): boolean {
  return date.getTime() >= MIN_DATE_TIME.getTime() && date.getTime() <= MAX_DATE_TIME.getTime();
}

/** An ISO 8601 date-time with a time zone, e.g. 2027-01-31T12:00:00Z, from year 0001 to 9999 (UTC). */
export const dateTime: Parser<Date> = (value) => {
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value)) {
    return fail('must be an ISO 8601 date-time with a time zone, e.g. 2027-01-31T12:00:00Z');
  }
  const date = new Date(value);
  // Date rolls 2027-02-30 over to March 2; a real date keeps its own year, month and day.
  const [year, month, day] = value.slice(0, 10).split('-').map(Number) as [number, number, number];
  // (setUTCFullYear, not Date.UTC, which reads years 0 to 99 as 1900 to 1999.)
  const calendar = new Date(0);
  calendar.setUTCFullYear(year, month - 1, day);
  const isRealDay = calendar.getUTCFullYear() === year && calendar.getUTCMonth() === month - 1 && calendar.getUTCDate() === day;
  if (Number.isNaN(date.getTime()) || !isRealDay) return fail('is not a real date');
  return inDateTimeRange(date) ? ok(date) : fail('must be from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z');
};

/** A scope token (RFC 6749 §3.3). */
export const scopeName = string({ min: 1, max: 100, pattern: /^[\x21\x23-\x5b\x5d-\x7e]+$/, patternMessage: 'must be a scope token (printable ASCII, no spaces, quotes or backslashes)' });

/**
 * Parses `input` against `shape`, reporting every bad or unknown field at once.
 * Nothing is returned unless all of it is valid.
 */
export function parseObject<S extends Record<string, Parser<unknown>>>(input: Record<string, unknown>, shape: S): { [K in keyof S]: Output<S[K]> } {
  const errors: FieldError[] = [];
  const out: Record<string, unknown> = {};
  for (const [field, parser] of Object.entries(shape)) {
    const parsed = parser(input[field]);
    if (parsed.ok) out[field] = parsed.value;
    else errors.push({ field, message: input[field] === undefined ? 'is required' : parsed.message });
  }
  for (const field of Object.keys(input)) {
    if (!(field in shape)) errors.push({ field, message: 'is not a known field' });
  }
  if (errors.length > 0) throw validationFailed(errors);
  return out as { [K in keyof S]: Output<S[K]> };
}

/** Query parameters arrive as strings; these parsers read them. */
export const query = {
  integer(min: number, max: number): Parser<number> {
    return (value) => (typeof value === 'string' && /^\d+$/.test(value) && Number(value) >= min && Number(value) <= max ? ok(Number(value)) : fail(`must be a whole number from ${min} to ${max}`));
  },
  boolean: ((value) => (value === 'true' ? ok(true) : value === 'false' ? ok(false) : fail('must be true or false'))) as Parser<boolean>,
  string(max: number): Parser<string> {
    return (value) => (typeof value === 'string' && value.length <= max && unstorableText(value) === undefined ? ok(value) : fail(`must be one value of at most ${max} characters, without NUL`));
  },
};
