import Type, { type Static, type TObject, type TProperties, type TSchema } from 'typebox';
import { NAME_MAX_LENGTH, NAME_MIN_LENGTH, SCOPE_NAME_MAX_LENGTH } from '../shared/limits.js';
import { notADateTime } from './text.js';
import { optional, refine } from './validate.js';

/*
 * The building blocks of the contract's schemas. Each is plain JSON Schema (the
 * OpenAPI document shows it as is); what the keywords cannot say is refined here.
 */

/** A closed object: a field it does not list is refused on input and fails the OpenAPI test on output. */
export function closed<P extends TProperties>(properties: P, options: { description?: string } & Record<string, unknown> = {}): TObject<P> {
  return Type.Object(properties, { ...options, additionalProperties: false });
}

export const nullable = <S extends TSchema>(schema: S, description?: string) => Type.Union([schema, Type.Null()], description === undefined ? {} : { description });

/** An ISO 8601 date-time with a time zone, e.g. 2027-01-31T12:00:00Z, from year 0001 to 9999 (UTC). */
export const dateTimeInput = (description?: string) =>
  refine(Type.String({ format: 'date-time', ...(description && { description }) }), {
    parse: (value) => {
      const message = notADateTime(value);
      return message === undefined ? { ok: true, value } : { ok: false, message };
    },
  });

export const timestamp = Type.String({ format: 'date-time' });
export const nullableTimestamp = (description?: string) => nullable(Type.String({ format: 'date-time' }), description);

/** An id, `acc_…`, `env_…`, `kp_…`: the prefix names the kind. */
export const idOf = (prefix: string, description: string) => Type.String({ pattern: `^${prefix}_`, description });
export const nullableIdOf = (prefix: string, description: string) => nullable(Type.String({ pattern: `^${prefix}_` }), description);

/** A name of a keypair, account, environment or resource server: trimmed, 1 to 100 characters. */
export const entityName = () =>
  refine(Type.String({ minLength: NAME_MIN_LENGTH, maxLength: NAME_MAX_LENGTH, pattern: '\\S', description: `Trimmed; ${NAME_MIN_LENGTH} to ${NAME_MAX_LENGTH} characters, not all blank.` }), { trim: true });

/** A user's display name: trimmed, may be empty. */
export const userName = (options: { default?: string } = {}) => refine(Type.String({ maxLength: NAME_MAX_LENGTH, description: `Trimmed; up to ${NAME_MAX_LENGTH} characters.`, ...options }), { trim: true });

/** A scope token (RFC 6749 §3.3): printable ASCII without space, `"` or `\`. */
export const scopeToken = () =>
  refine(Type.String({ minLength: 1, maxLength: SCOPE_NAME_MAX_LENGTH, pattern: '^[\\x21\\x23-\\x5B\\x5D-\\x7E]+$' }), {
    patternMessage: 'must be a scope token (printable ASCII, no spaces, quotes or backslashes)',
  });

/** One page of a list: `nextCursor` is null on the last page. */
export const listOf = <S extends TSchema>(item: S, description: string) =>
  closed({ data: Type.Array(item), nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'Pass as `cursor` for the next page; null on the last one.' }) }, { description });

export const FieldErrorSchema = closed({
  field: Type.String({ description: 'The body field, query parameter or header; `(body)` for the body as a whole.' }),
  message: Type.String(),
});

export const PROBLEM_CODES = [
  'validation_failed',
  'unauthenticated',
  'forbidden',
  'not_found',
  'conflict',
  'limit_reached',
  'precondition_failed',
  'payload_too_large',
  'unsupported_media_type',
  'method_not_allowed',
  'internal_error',
] as const;

export const ProblemSchema = Type.Object(
  {
    type: Type.String({ pattern: '^urn:keygate:problem:[a-z_]+$' }),
    title: Type.String(),
    status: Type.Integer({ minimum: 400, maximum: 599 }),
    detail: Type.String(),
    code: Type.Union(PROBLEM_CODES.map((code) => Type.Literal(code))),
    errors: optional(Type.Array(FieldErrorSchema, { minItems: 1, description: 'Validation only: every bad field at once.' })),
  },
  { additionalProperties: false, description: 'RFC 9457 problem details. `code` is stable; `title` and `detail` are for people.' },
);

export type FieldErrorView = Static<typeof FieldErrorSchema>;
export type ProblemView = Static<typeof ProblemSchema>;
