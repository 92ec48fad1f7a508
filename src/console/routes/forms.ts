import type { Context } from 'koa';
import { unstorableText } from '../../contract/text.js';
import { KeygateError, validationFailed, type FieldError } from '../../shared/errors.js';

/** Largest form the console reads: 64 KiB, as the admin API. */
const MAX_FORM_BYTES = 64 * 1024;

/** PostgreSQL text cannot hold NUL: refused at the edge, as the admin API's parsers do, so no field reaches a query with one. */
const NUL = '\u0000';

export async function readForm(ctx: Context): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_FORM_BYTES) throw new KeygateError('payload_too_large', 'The form is too large.');
    chunks.push(chunk);
  }
  const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
  for (const [name, value] of form) {
    const unstorable = unstorableText(name) ?? unstorableText(value);
    if (unstorable) throw validationFailed([{ field: name.replaceAll(NUL, '').replace(/\p{Surrogate}/gu, '\uFFFD'), message: unstorable }]);
  }
  return form;
}

/** A refusal's field errors, for the form that caused it; a cap is reported as `(limit)`. */
export function fieldErrorsOf(error: unknown): FieldError[] {
  if (error instanceof KeygateError && error.code === 'validation_failed') return [...(error.details.errors ?? [{ field: '(form)', message: error.message }])];
  if (error instanceof KeygateError && (error.code === 'limit_reached' || error.code === 'conflict')) return [{ field: '(limit)', message: error.message }];
  throw error;
}

/** The status of a form page shown again with `errors`: a cap or a conflict is a 409, anything else a 400. */
export function formStatus(errors: readonly FieldError[]): number {
  return errors[0]?.field === '(limit)' ? 409 : 400;
}

/** The create and PATCH guard fields from a form: empty means the server default. */
function guardFields(form: URLSearchParams): Record<string, unknown> {
  const rate = (form.get('rateLimitPerMinute') ?? '').trim();
  const ips = (form.get('allowedIps') ?? '').split(/[\s,]+/).filter(Boolean);
  const autoDisable = form.get('autoDisable') ?? 'default';
  return {
    rateLimitPerMinute: rate === '' ? null : /^\d+$/.test(rate) ? Number(rate) : rate,
    allowedIps: ips,
    autoDisable: autoDisable === 'true' ? true : autoDisable === 'false' ? false : null,
  };
}

/** The create form's fields as the admin API's JSON body, so its checks apply unchanged. */
export function createBody(form: URLSearchParams): Record<string, unknown> {
  const expiry = form.get('expiry') ?? 'never';
  const date = form.get('expiryDate') ?? '';
  return {
    name: form.get('name') ?? '',
    comment: form.get('comment') ?? '',
    grants: grantsOfForm(form),
    ...(['1d', '7d', '30d', '90d'].includes(expiry) && { expiresIn: expiry }),
    ...(expiry === 'custom' && { expiresAt: /^\d{4}-\d{2}-\d{2}$/.test(date) ? `${date}T23:59:59Z` : date || 'a date' }),
    ...guardFields(form),
  };
}

/** The grant checkboxes of a form as the admin API's `grants`, one per resource server, in the order first seen. */
export function grantsOfForm(form: URLSearchParams): Array<{ resourceServer: string; scopes: string[] }> {
  const grants = new Map<string, string[]>();
  for (const value of form.getAll('grant')) {
    const space = value.indexOf(' ');
    if (space <= 0) continue;
    const [scope, resourceServer] = [value.slice(0, space), value.slice(space + 1)];
    grants.set(resourceServer, [...(grants.get(resourceServer) ?? []), scope]);
  }
  return [...grants].map(([resourceServer, scopes]) => ({ resourceServer, scopes }));
}

/** The resource-server form's fields as the admin API's create body: one scope a line, its name then its description. */
export function resourceServerBody(form: URLSearchParams): Record<string, unknown> {
  const scopes = (form.get('scopes') ?? '')
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const [name = '', ...description] = line.split(/\s+/);
      return { name, description: description.join(' ') };
    });
  const ttl = (form.get('accessTokenTtl') ?? '').trim();
  return { identifier: (form.get('identifier') ?? '').trim(), name: form.get('name') ?? '', scopes, ...(ttl && { accessTokenTtl: /^\d+$/.test(ttl) ? Number(ttl) : ttl }) };
}
