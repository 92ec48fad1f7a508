import type { Context } from 'koa';
import { KeygateError, validationFailed, type FieldError } from '../shared/errors.js';
import { MAX_BODY_BYTES } from '../shared/limits.js';
import { unstorableText } from '../contract/text.js';

/**
 * Reads a JSON object body. Over 64 KiB is a 413 (read no further), anything but
 * application/json a 415, malformed JSON or a non-object a 400. An empty body is {}.
 * A string anywhere in it (a key or a value, at any depth) that text cannot hold (NUL,
 * an unpaired surrogate) is a 400 naming where it is, e.g. `scopes[0].description`.
 */
export async function readJsonBody(ctx: Context): Promise<Record<string, unknown>> {
  const declared = Number(ctx.get('Content-Length') || 0);
  if (declared > MAX_BODY_BYTES) throw new KeygateError('payload_too_large', `Request bodies are limited to ${MAX_BODY_BYTES} bytes.`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new KeygateError('payload_too_large', `Request bodies are limited to ${MAX_BODY_BYTES} bytes.`);
    chunks.push(chunk);
  }
  if (size === 0) return {};
  if (!ctx.is('application/json')) throw new KeygateError('unsupported_media_type', 'Send the body as application/json.');
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw validationFailed([{ field: '(body)', message: 'is not valid JSON' }]);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw validationFailed([{ field: '(body)', message: 'must be a JSON object' }]);
  }
  const errors = unstorableStrings(parsed, '');
  if (errors.length > 0) throw validationFailed(errors);
  return parsed as Record<string, unknown>;
}

/** Every string under `value` that text cannot hold, by its path: `name`, `scopes[0].description`. */
function unstorableStrings(value: unknown, path: string): FieldError[] {
  if (typeof value === 'string') {
    const message = unstorableText(value);
    return message ? [{ field: path, message }] : [];
  }
  if (Array.isArray(value)) return value.flatMap((item, index) => unstorableStrings(item, `${path}[${index}]`));
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value).flatMap(([key, item]) => {
      const keyMessage = unstorableText(key);
      // A bad field name is echoed JSON-escaped, so the answer itself holds no NUL or lone surrogate.
      const field = `${path === '' ? '' : `${path}.`}${keyMessage ? JSON.stringify(key).slice(1, -1) : key}`;
      return keyMessage ? [{ field, message: `(a field name) ${keyMessage}` }] : unstorableStrings(item, field);
    });
  }
  return [];
}
