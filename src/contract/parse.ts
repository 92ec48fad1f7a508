import type { CreateKeypairInput, GrantInput, KeypairService, UpdateKeypairInput } from '../keypairs/service.js';
import type { ScopeDefinition } from '../resource_servers/store.js';
import { validationFailed, type FieldError } from '../shared/errors.js';
import { expiresInSeconds, KeypairCreateSchema, KeypairUpdateSchema, type KeypairCreateBody, type KeypairUpdateBody } from './keypairs.js';
import { ResourceServerCreateSchema, ResourceServerUpdateSchema } from './resource_servers.js';
import { validate, walk } from './validate.js';

/*
 * The request bodies the admin API and the console share, read through the
 * contract's schemas. Keypair bodies also meet the catalogue: whether the resource
 * servers and scopes they name exist for the account.
 */

/** Whether any error is at `field` or inside it (`grants[1]`, `grants[1].scopes[0]`). */
const hasErrorAt = (errors: readonly FieldError[], field: string) => errors.some((error) => error.field === field || error.field.startsWith(`${field}.`) || error.field.startsWith(`${field}[`));

/**
 * Checks `input` against `schema` and, in the same answer, the catalogue: the
 * grants whose shape is right and the shorthand `scopes` if its shape is, so one
 * answer names every bad field (shape errors first, then the catalogue's).
 */
function parseWithGrants<B extends KeypairCreateBody | KeypairUpdateBody>(keypairs: KeypairService, schema: typeof KeypairCreateSchema | typeof KeypairUpdateSchema, input: Record<string, unknown>, accountId: string): B {
  const { value, errors } = walk(schema, input);
  const body = value as B;
  const sound = Array.isArray(input.grants) && !errors.some((error) => error.field === 'grants')
    ? (body.grants ?? []).map((grant, index) => ({ grant: grant as GrantInput, index })).filter(({ index }) => !hasErrorAt(errors, `grants[${index}]`))
    : undefined;
  const scopes = input.scopes !== undefined && !hasErrorAt(errors, 'scopes') ? body.scopes : undefined;
  const catalogueErrors = keypairs.checkGrants(accountId, { scopes, grants: sound?.map(({ grant }) => grant) }).map((error) => ({
    // The catalogue numbered only the sound grants: name each by its place in the request.
    field: error.field.replace(/^grants\[(\d+)\]/, (_, index: string) => `grants[${sound![Number(index)]!.index}]`),
    message: error.message,
  }));
  if (errors.length > 0 || catalogueErrors.length > 0) throw validationFailed([...errors, ...catalogueErrors]);
  return body;
}

/** A create body, checked as the admin API checks it (the console's form arrives here too). */
export function parseKeypairCreate(keypairs: KeypairService, input: Record<string, unknown>, now: Date, accountId: string): Omit<CreateKeypairInput, 'owner'> {
  const body = parseWithGrants<KeypairCreateBody>(keypairs, KeypairCreateSchema, input, accountId);
  const expiresAt = body.expiresIn !== undefined ? new Date(now.getTime() + expiresInSeconds(body.expiresIn) * 1000) : body.expiresAt == null ? body.expiresAt : new Date(body.expiresAt);
  return {
    name: body.name,
    comment: body.comment,
    scopes: body.scopes,
    grants: body.grants,
    expiresAt,
    rateLimitPerMinute: body.rateLimitPerMinute,
    allowedIps: body.allowedIps,
    autoDisable: body.autoDisable,
    requireDpop: body.requireDpop,
    credential: body.publicKeys ? { publicKeys: body.publicKeys } : body.federation ? { federation: body.federation } : undefined,
  };
}

/** A PATCH body, checked as the admin API checks it. */
export function parseKeypairPatch(keypairs: KeypairService, input: Record<string, unknown>, accountId: string): UpdateKeypairInput {
  return parseWithGrants<KeypairUpdateBody>(keypairs, KeypairUpdateSchema, input, accountId);
}

/** A scope catalogue as sent: a scope without a description has an empty one. */
const catalogue = (scopes: ReadonlyArray<{ name: string; description?: string | undefined }>): ScopeDefinition[] => scopes.map((scope) => ({ name: scope.name, description: scope.description ?? '' }));

/** A create body, checked as the admin API checks it (the console's form arrives here too). */
export function parseResourceServerCreate(input: Record<string, unknown>) {
  const body = validate(ResourceServerCreateSchema, input);
  return { ...body, scopes: catalogue(body.scopes) };
}

/** An update body: the fields given change, the others stay. */
export function parseResourceServerUpdate(input: Record<string, unknown>) {
  const { scopes, ...body } = validate(ResourceServerUpdateSchema, input);
  return { ...body, ...(scopes !== undefined && { scopes: catalogue(scopes) }) };
}
