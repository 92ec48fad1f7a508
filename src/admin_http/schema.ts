import { validationFailed, type FieldError } from '../shared/errors.js';

/*
 * The admin API's request bodies and views are schemas in src/contract/, validated by
 * src/contract/validate.ts. What is left here is the small parser shape that
 * context.ts's parseQuery still takes; it holds no rule of the contract.
 */

/** A field parser: the parsed value, or the message that explains why not. */
export type Parser<T> = (value: unknown) => { ok: true; value: T } | { ok: false; message: string };
type Output<P> = P extends Parser<infer T> ? T : never;

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
