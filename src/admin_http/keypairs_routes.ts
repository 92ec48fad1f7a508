import Router from '@koa/router';
import type { Context } from 'koa';
import { Reach } from '../access/reach.js';
import type { AuditEventView, AuditHistory } from '../audit/query.js';
import type { KeypairService } from '../keypairs/service.js';
import { MAX_GRACE_PERIOD_SECONDS, type CreateKeypairInput, type GrantInput, type UpdateKeypairInput } from '../keypairs/service.js';
import type { Clock } from '../shared/clock.js';
import { KeygateError, validationFailed, type FieldError } from '../shared/errors.js';
import type { TenancyService } from '../tenancy/service.js';
import type { UsageReport } from '../usage/report.js';
import { canonicalIpEntry, MAX_ALLOWED_IPS } from '../keypairs/ip_allowlist.js';
import { readJsonBody } from './body.js';
import { actorFor, DEFAULT_PAGE_SIZE, expectedVersion, MAX_PAGE_SIZE, parseQuery, principalOf, setVersionTag } from './context.js';
import { array, boolean, dateTime, integer, nullable, optional, parseObject, query, scopeName, string, type Parser } from './schema.js';
import { cursorDate, cursorSeq, decodeCursor, encodeCursor, eventView, keypairView, usageView } from './views.js';

/** Presets of `expiresIn`, as the product documents offer them. */
const EXPIRY_PRESETS: Record<string, number> = { '1d': 86_400, '7d': 7 * 86_400, '30d': 30 * 86_400, '90d': 90 * 86_400 };
/** Longest `expiresIn` in seconds: 10 years. */
const MAX_EXPIRES_IN = 10 * 365 * 86_400;

const expiresIn: Parser<number> = (value) => {
  if (typeof value === 'string' && value in EXPIRY_PRESETS) return { ok: true, value: EXPIRY_PRESETS[value]! };
  const seconds = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (Number.isInteger(seconds) && (seconds as number) >= 60 && (seconds as number) <= MAX_EXPIRES_IN) return { ok: true, value: seconds as number };
  return { ok: false, message: `must be 1d, 7d, 30d, 90d or a number of seconds from 60 to ${MAX_EXPIRES_IN}` };
};

/** An IPv4/IPv6 address or CIDR range, in canonical form. */
const ipEntry: Parser<string> = (value) => {
  const canonical = typeof value === 'string' ? canonicalIpEntry(value) : undefined;
  return canonical === undefined ? { ok: false, message: 'must be an IPv4 or IPv6 address or a CIDR range such as 203.0.113.0/24 (with no bits set past the prefix)' } : { ok: true, value: canonical };
};

const name = string({ min: 1, max: 100, trim: true });
const comment = string({ max: 1000 });
/** Most scopes one grant (or the shorthand) holds: 100, as keypair_grants allows. */
const MAX_SCOPES = 100;
/** Most grants one keypair holds: 100. */
export const MAX_GRANTS = 100;
const scopes = array(scopeName, { max: MAX_SCOPES, unique: true });

/**
 * `grants` as the client sent it, checked for shape with every bad field named
 * (`grants[1].scopes[0]`); whether the resource servers and scopes exist is the
 * service's check.
 */
function parseGrants(value: unknown): { grants: GrantInput[] | undefined; errors: FieldError[] } {
  if (value === undefined) return { grants: undefined, errors: [] };
  if (!Array.isArray(value)) return { grants: undefined, errors: [{ field: 'grants', message: 'must be an array of {"resourceServer", "scopes"}' }] };
  if (value.length > MAX_GRANTS) return { grants: undefined, errors: [{ field: 'grants', message: `must have at most ${MAX_GRANTS} items` }] };
  const errors: FieldError[] = [];
  const grants: GrantInput[] = [];
  for (const [index, item] of value.entries()) {
    const at = `grants[${index}]`;
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      errors.push({ field: at, message: 'must be {"resourceServer", "scopes"}' });
      continue;
    }
    const { resourceServer, scopes: names, ...rest } = item as Record<string, unknown>;
    for (const field of Object.keys(rest)) errors.push({ field: `${at}.${field}`, message: 'is not a known field' });
    const server = string({ min: 1, max: 500 })(resourceServer);
    if (!server.ok) errors.push({ field: `${at}.resourceServer`, message: resourceServer === undefined ? 'is required' : server.message });
    if (!Array.isArray(names)) {
      errors.push({ field: `${at}.scopes`, message: names === undefined ? 'is required' : 'must be an array' });
      continue;
    }
    if (names.length > MAX_SCOPES) errors.push({ field: `${at}.scopes`, message: `must have at most ${MAX_SCOPES} items` });
    const seen = new Set<string>();
    for (const [scopeIndex, name] of names.entries()) {
      const parsed = scopeName(name);
      if (!parsed.ok) errors.push({ field: `${at}.scopes[${scopeIndex}]`, message: parsed.message });
      else if (seen.has(parsed.value)) errors.push({ field: `${at}.scopes[${scopeIndex}]`, message: 'repeats an earlier scope' });
      else seen.add(parsed.value);
    }
    if (server.ok) grants.push({ resourceServer: server.value, scopes: [...seen] });
  }
  return { grants: errors.length === 0 ? grants : undefined, errors };
}

/** The guards a keypair may set on create and PATCH; null means the server default. */
const GUARDS_SHAPE = {
  rateLimitPerMinute: optional(nullable(integer(60, 1000))),
  allowedIps: optional(array(ipEntry, { max: MAX_ALLOWED_IPS, unique: true })),
  autoDisable: optional(nullable(boolean)),
};
const CREATE_SHAPE = { name, comment: optional(comment), scopes: optional(scopes), expiresAt: optional(nullable(dateTime)), expiresIn: optional(expiresIn), ...GUARDS_SHAPE };
const PATCH_SHAPE = { name: optional(name), comment: optional(comment), scopes: optional(scopes), ...GUARDS_SHAPE, enabled: optional(boolean), disabledReason: optional(string({ max: 500 })) };
const LIST_SHAPE = { limit: optional(query.integer(1, MAX_PAGE_SIZE)), cursor: optional(query.string(500)), enabled: optional(query.boolean), q: optional(query.string(100)) };
const EVENTS_SHAPE = {
  limit: optional(query.integer(1, MAX_PAGE_SIZE)),
  cursor: optional(query.string(500)),
  action: optional(query.string(100)),
  actor: optional(query.string(100)),
  environment: optional(query.string(100)),
  from: optional(dateTime),
  to: optional(dateTime),
};

/** Reads and checks the history filters shared by the keypair and account history routes. */
export function parseEventsQuery(ctx: Context) {
  const params = parseQuery(ctx, EVENTS_SHAPE);
  const cursor = decodeCursor(params.cursor, 1);
  const beforeSeq = cursor && cursorSeq(cursor[0]!);
  return {
    filter: { action: params.action, actorId: params.actor, environmentId: params.environment, from: params.from, to: params.to },
    page: { limit: params.limit ?? DEFAULT_PAGE_SIZE, beforeSeq },
  };
}

export function eventsPage(ctx: Context, events: AuditEventView[], limit: number) {
  const last = events.at(-1);
  ctx.body = { data: events.map(eventView), nextCursor: events.length === limit && last ? encodeCursor([String(last.seq)]) : null };
}

/**
 * Parses against `shape` plus `grants`; the answer also lists scopes and resource
 * servers the catalogue does not have for `accountId`, so one answer names every bad field.
 */
function parseWithGrants<S extends Record<string, Parser<unknown>>>(keypairs: KeypairService, input: Record<string, unknown>, shape: S, accountId: string) {
  const { grants: rawGrants, ...rest } = input;
  const grants = parseGrants(rawGrants);
  let body: ReturnType<typeof parseObject<S>> | undefined;
  let errors: FieldError[] = [];
  try {
    body = parseObject(rest, shape);
  } catch (error) {
    if (!(error instanceof KeygateError && error.code === 'validation_failed')) throw error;
    errors = [...(error.details.errors ?? [])];
  }
  errors.push(...grants.errors);
  const shorthand = optional(scopes)(input.scopes);
  if ((rawGrants === undefined || grants.grants !== undefined) && shorthand.ok) {
    errors.push(...keypairs.checkGrants(accountId, { scopes: shorthand.value, grants: grants.grants }));
  }
  if (errors.length > 0 || body === undefined) throw validationFailed(errors);
  return { ...body, grants: grants.grants };
}

/** A create body, checked as the admin API checks it (the console's form arrives here too). */
export function parseKeypairCreate(keypairs: KeypairService, input: Record<string, unknown>, now: Date, accountId: string): Omit<CreateKeypairInput, 'owner'> {
  const body = parseWithGrants(keypairs, input, CREATE_SHAPE, accountId);
  if (body.expiresAt !== undefined && body.expiresIn !== undefined) {
    throw validationFailed([{ field: 'expiresIn', message: 'give expiresAt or expiresIn, not both' }]);
  }
  const expiresAt = body.expiresIn !== undefined ? new Date(now.getTime() + body.expiresIn * 1000) : body.expiresAt;
  return {
    name: body.name,
    comment: body.comment,
    scopes: body.scopes,
    grants: body.grants,
    expiresAt,
    rateLimitPerMinute: body.rateLimitPerMinute,
    allowedIps: body.allowedIps,
    autoDisable: body.autoDisable,
  };
}

/** A PATCH body, checked as the admin API checks it. */
export function parseKeypairPatch(keypairs: KeypairService, input: Record<string, unknown>, accountId: string): UpdateKeypairInput {
  const body = parseWithGrants(keypairs, input, PATCH_SHAPE, accountId);
  if (body.disabledReason !== undefined && body.enabled !== false) {
    throw validationFailed([{ field: 'disabledReason', message: 'goes with "enabled": false' }]);
  }
  return body;
}

export function keypairRoutes(deps: { keypairs: KeypairService; tenancy: TenancyService; history: AuditHistory; usage: UsageReport; clock: Clock }): Router {
  const router = new Router();
  const { keypairs } = deps;
  const reach = new Reach(deps);

  /** The keypair, if the caller may manage it; otherwise it does not exist for the caller. */
  const reachableKeypair = (ctx: Context) => reach.keypair(principalOf(ctx), ctx.params.clientId!);

  async function listFor(ctx: Context, owner: { accountId: string; environmentId: string | null }) {
    const params = parseQuery(ctx, LIST_SHAPE);
    const cursor = decodeCursor(params.cursor, 2);
    const limit = params.limit ?? DEFAULT_PAGE_SIZE;
    const page = await keypairs.listKeypairs(owner, { enabled: params.enabled, q: params.q, limit, after: cursor && { createdAt: cursorDate(cursor[0]!), clientId: cursor[1]! } });
    const last = page.at(-1);
    ctx.body = { data: page.map(keypairView), nextCursor: page.length === limit && last ? encodeCursor([last.createdAt.toISOString(), last.clientId]) : null };
  }

  async function createFor(ctx: Context, owner: { accountId: string; environmentId?: string }) {
    const input = parseKeypairCreate(keypairs, await readJsonBody(ctx), deps.clock.now(), owner.accountId);
    const created = await keypairs.createKeypair(actorFor(ctx), { owner: owner.environmentId === undefined ? { accountId: owner.accountId } : { environmentId: owner.environmentId }, ...input });
    ctx.status = 201;
    ctx.set('Location', `/admin/v1/keypairs/${created.keypair.clientId}`);
    ctx.set('Cache-Control', 'no-store');
    setVersionTag(ctx, created.keypair.version);
    ctx.body = { ...keypairView(created.keypair), clientSecret: created.clientSecret };
  }

  async function accountOwner(ctx: Context) {
    const account = await reach.keypairAccount(principalOf(ctx), ctx.params.accountId!);
    return { accountId: account.id };
  }

  async function environmentOwner(ctx: Context) {
    const { environment } = await reach.keypairEnvironment(principalOf(ctx), ctx.params.environmentId!);
    return { accountId: environment.accountId, environmentId: environment.id };
  }

  router.get('/accounts/:accountId/keypairs', async (ctx) => listFor(ctx, { ...(await accountOwner(ctx)), environmentId: null }));
  router.post('/accounts/:accountId/keypairs', async (ctx) => createFor(ctx, await accountOwner(ctx)));
  router.get('/environments/:environmentId/keypairs', async (ctx) => listFor(ctx, await environmentOwner(ctx)));
  router.post('/environments/:environmentId/keypairs', async (ctx) => createFor(ctx, await environmentOwner(ctx)));

  router.get('/keypairs/:clientId', async (ctx) => {
    const keypair = await reachableKeypair(ctx);
    setVersionTag(ctx, keypair.version);
    ctx.body = keypairView(keypair);
  });

  router.patch('/keypairs/:clientId', async (ctx) => {
    const keypair = await reachableKeypair(ctx);
    const version = expectedVersion(ctx);
    const updated = await keypairs.updateKeypair(actorFor(ctx), keypair.clientId, parseKeypairPatch(keypairs, await readJsonBody(ctx), keypair.accountId), version);
    setVersionTag(ctx, updated.version);
    ctx.body = keypairView(updated);
  });

  router.post('/keypairs/:clientId/rotate', async (ctx) => {
    const keypair = await reachableKeypair(ctx);
    const body = parseObject(await readJsonBody(ctx), { gracePeriodSeconds: optional(integer(0, MAX_GRACE_PERIOD_SECONDS)) });
    // No grace unless asked for: a rotation after a leak must not keep the leaked secret alive by default.
    const rotated = await keypairs.rotateSecret(actorFor(ctx), keypair.clientId, body.gracePeriodSeconds ?? 0);
    ctx.set('Cache-Control', 'no-store');
    setVersionTag(ctx, rotated.keypair.version);
    ctx.body = { ...keypairView(rotated.keypair), clientSecret: rotated.clientSecret };
  });

  router.delete('/keypairs/:clientId', async (ctx) => {
    const keypair = await reachableKeypair(ctx);
    await keypairs.deleteKeypair(actorFor(ctx), keypair.clientId);
    ctx.status = 204;
  });

  router.get('/keypairs/:clientId/usage', async (ctx) => {
    const keypair = await reachableKeypair(ctx);
    ctx.body = usageView(keypair.clientId, await deps.usage.summary(keypair.clientId));
  });

  router.get('/keypairs/:clientId/events', async (ctx) => {
    const { clientId } = ctx.params;
    // A deleted keypair's history stays readable to whoever can reach its owner.
    await reach.keypairHistory(principalOf(ctx), clientId!);
    const { filter, page } = parseEventsQuery(ctx);
    const events = await deps.history.list({ ...filter, targetId: clientId }, page);
    eventsPage(ctx, events, page.limit);
  });

  return router;
}
