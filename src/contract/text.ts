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

/**
 * The range of date-times the API takes: years 0001 to 9999 (UTC), the four-digit years
 * of ISO 8601, well inside PostgreSQL's timestamptz (4713 BC to 294276 AD).
 */
export const MIN_DATE_TIME = new Date('0001-01-01T00:00:00.000Z');
export const MAX_DATE_TIME = new Date('9999-12-31T23:59:59.999Z');

export function inDateTimeRange(date: Date): boolean {
  return date.getTime() >= MIN_DATE_TIME.getTime() && date.getTime() <= MAX_DATE_TIME.getTime();
}

const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

/** Why `value` is not an ISO 8601 date-time with a time zone from year 0001 to 9999 (UTC), or undefined when it is one. */
export function notADateTime(value: unknown): string | undefined {
  if (typeof value !== 'string' || !ISO_DATE_TIME.test(value)) return 'must be an ISO 8601 date-time with a time zone, e.g. 2027-01-31T12:00:00Z';
  const date = new Date(value);
  // Date rolls 2027-02-30 over to March 2; a real date keeps its own year, month and day.
  const [year, month, day] = value.slice(0, 10).split('-').map(Number) as [number, number, number];
  // (setUTCFullYear, not Date.UTC, which reads years 0 to 99 as 1900 to 1999.)
  const calendar = new Date(0);
  calendar.setUTCFullYear(year, month - 1, day);
  const isRealDay = calendar.getUTCFullYear() === year && calendar.getUTCMonth() === month - 1 && calendar.getUTCDate() === day;
  if (Number.isNaN(date.getTime()) || !isRealDay) return 'is not a real date';
  return inDateTimeRange(date) ? undefined : 'must be from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z';
}
