import Type, { type Static, type TSchema } from 'typebox';
import { validationFailed, type FieldError } from '../shared/errors.js';
import { unstorableText } from './text.js';

/**
 * The checks JSON Schema keywords cannot say, attached to the schema they refine
 * (by `refine`, where the schema is defined). The schema itself stays plain JSON
 * Schema, so the OpenAPI document shows it as it is.
 */
export interface Refinement {
  /** A leaf checked whole by code (dates, IP entries, URIs, presets): the value, maybe canonical, or why not. */
  readonly parse?: (value: unknown) => { ok: true; value: unknown } | { ok: false; message: string };
  /** Strings: leading and trailing blanks are dropped before the length and pattern checks. */
  readonly trim?: boolean;
  /** What to say when the value is not of the schema's type (an object that is not one, ...). */
  readonly typeMessage?: string;
  readonly patternMessage?: string;
  /** Arrays: every bad item is named at its own path (`grants[1].scopes[0]`), not as the array's first bad item. */
  readonly eachItem?: boolean;
  /** Arrays with `eachItem`: what a repeated item is told. */
  readonly repeatMessage?: string;
  /** Arrays: items are the same when these keys are (a scope catalogue's names). */
  readonly uniqueBy?: (item: unknown) => unknown;
  readonly uniqueMessage?: string;
  /** Objects: rules between fields, run once every field they read is valid. */
  readonly rules?: readonly FieldRule[];
}

export interface FieldRule {
  readonly reads: readonly string[];
  readonly field: string;
  /** Why the fields do not go together, or undefined when they do. */
  readonly check: (body: Record<string, unknown>) => string | undefined;
}

const REFINEMENTS = new WeakMap<object, Refinement>();

/** Attaches `refinement` to `schema` and returns the schema. */
export function refine<S extends TSchema>(schema: S, refinement: Refinement): S {
  REFINEMENTS.set(schema, refinement);
  return schema;
}

/** `Type.Optional(schema)` with the refinement kept (TypeBox's Optional is a copy of the schema). */
export function optional<S extends TSchema>(schema: S) {
  const wrapped = Type.Optional(schema);
  const refinement = REFINEMENTS.get(schema);
  if (refinement) REFINEMENTS.set(wrapped, refinement);
  return wrapped;
}

interface Walked {
  readonly value: unknown;
  readonly errors: FieldError[];
}

/**
 * The keywords the walker reads; the schemas of src/contract use no others to validate.
 * (`minItems` of a grant's scopes is shown in the document but left to the catalogue
 * check, whose message says how to grant nothing there instead.)
 */
interface Keywords {
  type?: string | string[];
  anyOf?: Keywords[];
  enum?: unknown[];
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  items?: Keywords;
  maxItems?: number;
  uniqueItems?: boolean;
  properties?: Record<string, Keywords>;
  required?: string[];
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const fail = (field: string, message: string): Walked => ({ value: undefined, errors: [{ field, message }] });
const child = (path: string, key: string) => (path === '' ? key : `${path}.${key}`);

/**
 * Checks `value` against `schema` and returns every bad field (empty: valid) and the
 * value as the schema reads it (trimmed strings, canonical IP entries).
 */
export function walk(schema: TSchema, value: unknown, path = ''): Walked {
  const node = schema as Keywords;
  const refinement = REFINEMENTS.get(schema) ?? {};
  if (refinement.parse) {
    const parsed = refinement.parse(value);
    return parsed.ok ? { value: parsed.value, errors: [] } : fail(path, parsed.message);
  }
  if (node.anyOf) {
    // A request schema's union is "X or null"; any other is checked whole by a refinement's parse.
    const members = node.anyOf.filter((candidate) => candidate.type !== 'null');
    if (members.length !== 1) throw new Error(`walk: a union at ${path || '(body)'} needs a refinement that parses it`);
    if (value === null && members.length < node.anyOf.length) return { value: null, errors: [] };
    return walk(members[0] as TSchema, value, path);
  }
  switch (node.type) {
    case 'string':
      return walkString(node, refinement, value, path);
    case 'boolean':
      return typeof value === 'boolean' ? { value, errors: [] } : fail(path, 'must be true or false');
    case 'integer':
      return Number.isInteger(value) && (value as number) >= node.minimum! && (value as number) <= node.maximum!
        ? { value, errors: [] }
        : fail(path, `must be a whole number from ${node.minimum} to ${node.maximum}`);
    case 'array':
      return walkArray(node, refinement, value, path);
    case 'object':
      return walkObject(node, refinement, value, path);
    default:
      throw new Error(`walk: no validation for the schema at ${path || '(body)'}`);
  }
}

function walkString(node: Keywords, refinement: Refinement, value: unknown, path: string): Walked {
  if (typeof value !== 'string') return fail(path, refinement.typeMessage ?? 'must be a string');
  const unstorable = unstorableText(value);
  if (unstorable) return fail(path, unstorable);
  const text = refinement.trim ? value.trim() : value;
  const min = node.minLength ?? 0;
  if (text.length < min || (node.maxLength !== undefined && text.length > node.maxLength)) {
    return fail(path, min > 0 ? `must be ${min} to ${node.maxLength} characters` : `must be at most ${node.maxLength} characters`);
  }
  if (node.pattern !== undefined && !new RegExp(node.pattern, 'u').test(text)) return fail(path, refinement.patternMessage ?? 'has an invalid format');
  if (node.enum !== undefined && !node.enum.includes(text)) return fail(path, `must be one of ${node.enum.join(', ')}`);
  return { value: text, errors: [] };
}

function walkArray(node: Keywords, refinement: Refinement, value: unknown, path: string): Walked {
  if (!Array.isArray(value)) return fail(path, refinement.typeMessage ?? 'must be an array');
  const tooMany = node.maxItems !== undefined && value.length > node.maxItems ? `must have at most ${node.maxItems} items` : undefined;
  const keyOf = refinement.uniqueBy ?? ((item: unknown) => item);
  if (refinement.eachItem) {
    const errors: FieldError[] = tooMany ? [{ field: path, message: tooMany }] : [];
    const seen = new Set<string>();
    const items = value.map((item, index) => {
      const walked = walk(node.items as TSchema, item, `${path}[${index}]`);
      errors.push(...walked.errors);
      if (walked.errors.length > 0 || !(node.uniqueItems || refinement.uniqueBy)) return walked.value;
      const key = JSON.stringify(keyOf(walked.value));
      if (seen.has(key)) errors.push({ field: `${path}[${index}]`, message: refinement.repeatMessage ?? 'must not repeat items' });
      seen.add(key);
      return walked.value;
    });
    return { value: items, errors };
  }
  if (tooMany) return fail(path, tooMany);
  const items: unknown[] = [];
  for (const [index, item] of value.entries()) {
    const itemPath = `${path}[${index}]`;
    const walked = walk(node.items as TSchema, item, itemPath);
    const [first] = walked.errors;
    // One message for the array: its first bad item, and where in that item.
    if (first) return fail(path, `item ${index} ${first.field === itemPath ? '' : `${first.field.slice(itemPath.length + 1)} `}${first.message}`);
    items.push(walked.value);
  }
  if ((node.uniqueItems || refinement.uniqueBy) && new Set(items.map((item) => JSON.stringify(keyOf(item)))).size !== items.length) return fail(path, refinement.uniqueMessage ?? 'must not repeat items');
  return { value: items, errors: [] };
}

/**
 * Every property in schema order, then the fields it does not know. Nested objects
 * (a grant) name unknown fields first, as the body's own answer has always named them last.
 */
function walkObject(node: Keywords, refinement: Refinement, value: unknown, path: string): Walked {
  if (!isRecord(value)) return fail(path, refinement.typeMessage ?? 'must be an object');
  const properties = node.properties ?? {};
  const required = new Set(node.required ?? []);
  const unknown: FieldError[] = Object.keys(value)
    .filter((key) => !Object.hasOwn(properties, key))
    .map((key) => ({ field: child(path, key), message: 'is not a known field' }));
  const errors: FieldError[] = path === '' ? [] : unknown;
  const out: Record<string, unknown> = {};
  const valid = new Set<string>();
  for (const [key, property] of Object.entries(properties)) {
    if (value[key] === undefined) {
      if (required.has(key)) errors.push({ field: child(path, key), message: 'is required' });
      continue;
    }
    const walked = walk(property as TSchema, value[key], child(path, key));
    errors.push(...walked.errors);
    // Kept even when bad, so a caller can still use the good items of a list (grants).
    out[key] = walked.value;
    if (walked.errors.length === 0) valid.add(key);
  }
  if (path === '') errors.push(...unknown);
  for (const rule of refinement.rules ?? []) {
    if (!rule.reads.every((key) => valid.has(key) || value[key] === undefined)) continue;
    const message = rule.check(Object.fromEntries([...valid].map((key) => [key, out[key]])));
    if (message) errors.push({ field: child(path, rule.field), message });
  }
  return { value: out, errors };
}

/** The body as `schema` describes it, or a 400 naming every bad field at once. */
export function validate<S extends TSchema>(schema: S, input: unknown): Static<S> {
  const { value, errors } = walk(schema, input);
  if (errors.length > 0) throw validationFailed(errors);
  return value as Static<S>;
}

/**
 * Query parameters arrive as strings: each is read as the schema's integer or boolean
 * says, then validated; a parameter given twice is refused.
 */
export function validateQuery<S extends TSchema>(schema: S, query: Record<string, string | string[] | undefined>): Static<S> {
  const properties = (schema as Keywords).properties ?? {};
  const values: Record<string, unknown> = {};
  const repeated: FieldError[] = [];
  for (const [key, raw] of Object.entries(query)) {
    const type = properties[key]?.type;
    if (Array.isArray(raw) && Object.hasOwn(properties, key)) repeated.push({ field: key, message: 'must be given once' });
    else if (type === 'integer' && typeof raw === 'string' && /^\d+$/.test(raw)) values[key] = Number(raw);
    else if (type === 'boolean' && (raw === 'true' || raw === 'false')) values[key] = raw === 'true';
    else values[key] = raw;
  }
  const { value, errors } = walk(schema, values);
  if (errors.length > 0 || repeated.length > 0) throw validationFailed([...errors, ...repeated]);
  return value as Static<S>;
}
