import type Router from '@koa/router';
import type { Knex } from 'knex';
import type { Context } from 'koa';
import type { Reach } from '../../access/reach.js';
import { parseKeypairCreate } from '../../contract/parse.js';
import type { AuditHistory } from '../../audit/query.js';
import { listTrustedIssuers } from '../../federation/store.js';
import type { KeypairService } from '../../keypairs/service.js';
import type { Keypair } from '../../keypairs/store.js';
import type { ResourceServerService } from '../../resource_servers/service.js';
import type { Clock } from '../../shared/clock.js';
import type { TenancyService } from '../../tenancy/service.js';
import { HISTORY_PAGE_SIZE, historyPage } from '../views/history.js';
import { createKeypairPage, keypairListPage, LIST_PAGE_SIZE, overviewPage, type OwnerPage } from '../views/keypairs.js';
import { keylessBody, withoutPrivateKey } from '../keyless_form.js';
import { actorFor, formOf, frameOf, principalOf, seeOther, send } from './context.js';
import { createBody, fieldErrorsOf, formStatus } from './forms.js';
import type { ShowSecretOnce } from './keypair.js';
import { eventCursor, keypairCursor, pageLinks, positionOf } from './pages.js';

export interface KeypairsDeps {
  readonly keypairs: KeypairService;
  readonly tenancy: TenancyService;
  readonly resourceServers: ResourceServerService;
  readonly history: AuditHistory;
  readonly clock: Clock;
  readonly db: Knex;
}

/** The overview, and each account's and environment's keypair list, create form and credential history. */
export function keypairsRoutes(router: Router, deps: KeypairsDeps, reach: Reach, showSecretOnce: ShowSecretOnce): void {
  const { keypairs, tenancy, clock } = deps;

  router.get('/', async (ctx) => {
    send(ctx, 200, overviewPage(await frameOf(ctx, reach)));
  });

  /** The owner a path names, if the caller may manage its keypairs; otherwise a 404. */
  async function ownerOf(ctx: Context): Promise<OwnerPage> {
    const principal = principalOf(ctx);
    if (ctx.params.accountId !== undefined) {
      const account = await reach.keypairAccount(principal, ctx.params.accountId);
      return { accountId: account.id, environmentId: null, title: `${account.name}: account-level keypairs`, base: `/console/accounts/${account.id}` };
    }
    const { environment, account } = await reach.keypairEnvironment(principal, ctx.params.environmentId ?? '');
    return { accountId: account.id, environmentId: environment.id, title: `${account.name} / ${environment.name}`, base: `/console/environments/${environment.id}` };
  }

  async function listPage(ctx: Context) {
    const owner = await ownerOf(ctx);
    const frame = await frameOf(ctx, reach);
    const state = ctx.query.state === 'enabled' || ctx.query.state === 'disabled' ? ctx.query.state : 'all';
    const q = typeof ctx.query.q === 'string' ? ctx.query.q.slice(0, 100) : '';
    const position = positionOf(ctx, keypairCursor.valid);
    // One more than a page, to know whether a next page exists without an empty last one.
    const fetched = await keypairs.listKeypairs(owner, {
      enabled: state === 'all' ? undefined : state === 'enabled',
      q: q || undefined,
      limit: LIST_PAGE_SIZE + 1,
      after: position.after === undefined ? undefined : keypairCursor.parse(position.after),
    });
    const list = fetched.slice(0, LIST_PAGE_SIZE);
    const links = pageLinks(owner.base, { state: state === 'all' ? '' : state, q }, position, fetched.length > LIST_PAGE_SIZE ? keypairCursor.of(list.at(-1)!) : undefined);
    const environments = owner.environmentId === null ? (await tenancy.listEnvironments(owner.accountId)).filter((environment) => environment.status === 'active') : [];
    const deleted = typeof ctx.query.deleted === 'string' && /^kp_[0-9A-Za-z]{1,40}$/.test(ctx.query.deleted) ? ctx.query.deleted : undefined;
    send(ctx, 200, keypairListPage(frame, owner, { state, q, keypairs: list, creators: await creatorsOf(list), now: clock.now(), environments, deleted, links }));
  }

  /** Who created these keypairs, by name (or email when unnamed); "system" and unknown ids stay as they are. */
  async function creatorsOf(list: readonly Keypair[]): Promise<Map<string, { name: string; email: string }>> {
    const creators = new Map<string, { name: string; email: string }>();
    for (const id of new Set(list.map((keypair) => keypair.createdBy))) {
      const user = id.startsWith('usr_') ? await tenancy.findUser(id) : undefined;
      if (user) creators.set(id, { name: user.name || user.email, email: user.email });
    }
    return creators;
  }

  /** What the create form offers: the resource servers the owner's account may be granted, and the trusted issuers (operators', read-only here). */
  const createChoices = async (owner: OwnerPage) => ({
    servers: deps.resourceServers.list(new Set([owner.accountId])),
    issuers: await listTrustedIssuers(deps.db),
  });

  async function newPage(ctx: Context) {
    const owner = await ownerOf(ctx);
    const frame = await frameOf(ctx, reach);
    send(ctx, 200, createKeypairPage(frame, owner, await createChoices(owner), undefined, []));
  }

  async function createKeypair(ctx: Context) {
    const owner = await ownerOf(ctx);
    const frame = await frameOf(ctx, reach);
    const form = formOf(ctx);
    try {
      const input = parseKeypairCreate(keypairs, { ...createBody(form), ...keylessBody(form) }, clock.now(), owner.accountId);
      const ownedBy = owner.environmentId === null ? { accountId: owner.accountId } : { environmentId: owner.environmentId };
      if (input.credential) {
        // No secret to show once: the keypair's page says what its client does instead.
        const keypair = await keypairs.createKeylessKeypair(actorFor(ctx), { owner: ownedBy, ...input, credential: input.credential });
        seeOther(ctx, `/console/keypairs/${keypair.clientId}?done=created_${keypair.credentialType}`);
        return;
      }
      const created = await keypairs.createKeypair(actorFor(ctx), { owner: ownedBy, ...input });
      await showSecretOnce(ctx, { clientId: created.keypair.clientId, clientSecret: created.clientSecret, title: `Keypair ${created.keypair.name} created`, verb: 'Created' });
    } catch (error) {
      const errors = fieldErrorsOf(error);
      send(ctx, formStatus(errors), createKeypairPage(frame, owner, await createChoices(owner), withoutPrivateKey(form), errors));
    }
  }

  router.get('/accounts/:accountId', listPage);
  router.get('/environments/:environmentId', listPage);
  router.get('/accounts/:accountId/keypairs/new', newPage);
  router.get('/environments/:environmentId/keypairs/new', newPage);
  router.post('/accounts/:accountId/keypairs/new', createKeypair);
  router.post('/environments/:environmentId/keypairs/new', createKeypair);

  async function credentialHistory(ctx: Context) {
    const owner = await ownerOf(ctx);
    const frame = await frameOf(ctx, reach);
    const action = typeof ctx.query.action === 'string' && /^[a-z_.]{1,60}$/.test(ctx.query.action) ? ctx.query.action : '';
    const day = (value: unknown) => (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value) && !Number.isNaN(Date.parse(value)) ? value : '');
    const from = day(ctx.query.from);
    const to = day(ctx.query.to);
    const position = positionOf(ctx, eventCursor.valid);
    const fetched = await deps.history.list(
      {
        ...(owner.environmentId === null ? { accountId: owner.accountId } : { environmentId: owner.environmentId }),
        action: action || undefined,
        from: from ? new Date(`${from}T00:00:00Z`) : undefined,
        to: to ? new Date(Date.parse(`${to}T00:00:00Z`) + 86_400_000) : undefined,
      },
      { limit: HISTORY_PAGE_SIZE + 1, beforeSeq: position.after === undefined ? undefined : eventCursor.parse(position.after) },
    );
    const events = fetched.slice(0, HISTORY_PAGE_SIZE);
    const links = pageLinks(`${owner.base}/history`, { action, from, to }, position, fetched.length > HISTORY_PAGE_SIZE ? eventCursor.of(events.at(-1)!) : undefined);
    send(ctx, 200, historyPage(frame, owner, { action, from, to }, events, { now: clock.now(), links }));
  }
  router.get('/accounts/:accountId/history', credentialHistory);
  router.get('/environments/:environmentId/history', credentialHistory);
}
