import Router from '@koa/router';
import type { Context } from 'koa';
import { Reach } from '../access/reach.js';
import type { AuditEventView, AuditHistory } from '../audit/query.js';
import { EventsQuerySchema, KeypairListQuerySchema } from '../contract/activity.js';
import { KeypairRotateSchema } from '../contract/keypairs.js';
import { DEFAULT_PAGE_SIZE } from '../shared/limits.js';
import { parseKeypairCreate, parseKeypairPatch } from '../contract/parse.js';
import { validate, validateQuery } from '../contract/validate.js';
import type { KeypairService } from '../keypairs/service.js';
import type { Clock } from '../shared/clock.js';
import type { TenancyService } from '../tenancy/service.js';
import type { UsageReport } from '../usage/report.js';
import { readJsonBody } from './body.js';
import { actorFor, expectedVersion, principalOf, setVersionTag } from './context.js';
import { cursorDate, cursorSeq, decodeCursor, encodeCursor, eventView, keypairView, usageView } from './views.js';

/** Reads and checks the history filters shared by the keypair and account history routes. */
export function parseEventsQuery(ctx: Context) {
  const params = validateQuery(EventsQuerySchema, ctx.query);
  const cursor = decodeCursor(params.cursor, 1);
  const beforeSeq = cursor && cursorSeq(cursor[0]!);
  const date = (value: string | undefined) => (value === undefined ? undefined : new Date(value));
  return {
    filter: { action: params.action, actorId: params.actor, environmentId: params.environment, from: date(params.from), to: date(params.to) },
    page: { limit: params.limit ?? DEFAULT_PAGE_SIZE, beforeSeq },
  };
}

export function eventsPage(ctx: Context, events: AuditEventView[], limit: number) {
  const last = events.at(-1);
  ctx.body = { data: events.map(eventView), nextCursor: events.length === limit && last ? encodeCursor([String(last.seq)]) : null };
}

export function keypairRoutes(deps: { keypairs: KeypairService; tenancy: TenancyService; history: AuditHistory; usage: UsageReport; clock: Clock }): Router {
  const router = new Router();
  const { keypairs } = deps;
  const reach = new Reach(deps);

  /** The keypair, if the caller may manage it; otherwise it does not exist for the caller. */
  const reachableKeypair = (ctx: Context) => reach.keypair(principalOf(ctx), ctx.params.clientId!);

  async function listFor(ctx: Context, owner: { accountId: string; environmentId: string | null }) {
    const params = validateQuery(KeypairListQuerySchema, ctx.query);
    const cursor = decodeCursor(params.cursor, 2);
    const limit = params.limit ?? DEFAULT_PAGE_SIZE;
    const page = await keypairs.listKeypairs(owner, { enabled: params.enabled, q: params.q, limit, after: cursor && { createdAt: cursorDate(cursor[0]!), clientId: cursor[1]! } });
    const last = page.at(-1);
    ctx.body = { data: page.map(keypairView), nextCursor: page.length === limit && last ? encodeCursor([last.createdAt.toISOString(), last.clientId]) : null };
  }

  async function createFor(ctx: Context, owner: { accountId: string; environmentId?: string }) {
    const { credential, ...input } = parseKeypairCreate(keypairs, await readJsonBody(ctx), deps.clock.now(), owner.accountId);
    const ownerInput = { owner: owner.environmentId === undefined ? { accountId: owner.accountId } : { environmentId: owner.environmentId }, ...input };
    // A keypair with no secret answers with the keypair alone: there is nothing to show once.
    const created = credential ? { keypair: await keypairs.createKeylessKeypair(actorFor(ctx), { ...ownerInput, credential }) } : await keypairs.createKeypair(actorFor(ctx), ownerInput);
    ctx.status = 201;
    ctx.set('Location', `/admin/v1/keypairs/${created.keypair.clientId}`);
    ctx.set('Cache-Control', 'no-store');
    setVersionTag(ctx, created.keypair.version);
    ctx.body = { ...keypairView(created.keypair), ...('clientSecret' in created && { clientSecret: created.clientSecret }) };
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
    const body = validate(KeypairRotateSchema, await readJsonBody(ctx));
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
