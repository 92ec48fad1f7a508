import type Router from '@koa/router';
import type { Context } from 'koa';
import type { Reach } from '../../access/reach.js';
import { parseKeypairPatch } from '../../contract/parse.js';
import type { AuditHistory } from '../../audit/query.js';
import type { KeypairService } from '../../keypairs/service.js';
import type { Keypair } from '../../keypairs/store.js';
import type { ResourceServerService } from '../../resource_servers/service.js';
import type { Clock } from '../../shared/clock.js';
import { validationFailed, type FieldError } from '../../shared/errors.js';
import type { UsageReport } from '../../usage/report.js';
import { html, type Html } from '../html.js';
import { pastedPublicKeys } from '../keyless_form.js';
import type { SecretView, SecretViews } from '../secret_view.js';
import { DONE_NOTICES, GRACE_CHOICES, keypairPage, keypairTabOf, keypairTabPath, type KeypairTab } from '../views/keypair.js';
import { secretGonePage, secretPage } from '../views/secret.js';
import type { SnippetTarget } from '../views/snippets.js';
import { actorFor, COOKIE, formOf, frameOf, principalOf, seeOther, send } from './context.js';
import { fieldErrorsOf, formStatus, grantsOfForm } from './forms.js';

export interface KeypairDeps {
  readonly keypairs: KeypairService;
  readonly resourceServers: ResourceServerService;
  readonly history: AuditHistory;
  readonly usage: UsageReport;
  readonly clock: Clock;
  readonly issuer: string;
}

/** Keeps a new secret for one view by this session, and sends the browser to it. */
export type ShowSecretOnce = (ctx: Context, view: SecretView) => Promise<void>;

export function secretOnce(secretViews: SecretViews): ShowSecretOnce {
  return async (ctx, view) => {
    const id = await secretViews.put(ctx.cookies.get(COOKIE)!, view);
    seeOther(ctx, `/console/keypairs/${view.clientId}/secret/${id}`);
  };
}

/** One keypair's page and its changes: update, disable, enable, rotate (and the secret's one view), delete. */
export function keypairRoutes(router: Router, deps: KeypairDeps, reach: Reach, secretViews: SecretViews, showSecretOnce: ShowSecretOnce): void {
  const { keypairs, clock } = deps;

  /** The keypair, if the caller may manage it; otherwise it does not exist for the caller. */
  const reachableKeypair = (ctx: Context) => reach.keypair(principalOf(ctx), ctx.params.clientId ?? '');

  /** The page at `tab`, reading only what that tab shows. */
  async function showKeypair(ctx: Context, keypair: Keypair, tab: KeypairTab, notice: Html | undefined, errors: readonly FieldError[], status = 200) {
    const frame = await frameOf(ctx, reach);
    const [summary, events] = await Promise.all([
      tab === 'usage' ? deps.usage.summary(keypair.clientId) : undefined,
      tab === 'history' ? deps.history.list({ targetId: keypair.clientId }, { limit: 20 }) : [],
    ]);
    const servers = tab === 'grants' ? deps.resourceServers.list(new Set([keypair.accountId])) : [];
    const snippets = tab === 'overview' && keypair.credentialType !== 'secret' ? snippetTarget(keypair) : undefined;
    send(ctx, status, keypairPage(frame, keypair, { now: clock.now(), tab, servers, summary, events, snippets }, notice, errors));
  }

  router.get('/keypairs/:clientId', async (ctx) => {
    const done = typeof ctx.query.done === 'string' && Object.hasOwn(DONE_NOTICES, ctx.query.done) ? DONE_NOTICES[ctx.query.done as keyof typeof DONE_NOTICES] : undefined;
    await showKeypair(ctx, await reachableKeypair(ctx), keypairTabOf(ctx.query.tab), done === undefined ? undefined : html`${done}`, []);
  });

  /**
   * A change through the admin API's own checks: done, a 303 to the keypair's page (so a
   * reload repeats nothing); refused, the page again with its errors.
   */
  async function change(ctx: Context, tab: KeypairTab, apply: (keypair: Keypair, form: URLSearchParams) => Promise<keyof typeof DONE_NOTICES>) {
    const keypair = await reachableKeypair(ctx);
    try {
      const done = await apply(keypair, formOf(ctx));
      const page = keypairTabPath(keypair.clientId, tab);
      seeOther(ctx, `${page}${page.includes('?') ? '&' : '?'}done=${done}`);
    } catch (error) {
      const errors = fieldErrorsOf(error);
      await showKeypair(ctx, keypair, tab, undefined, errors, formStatus(errors));
    }
  }

  router.post('/keypairs/:clientId/update', (ctx) =>
    change(ctx, 'grants', async (keypair, form) => {
      await keypairs.updateKeypair(actorFor(ctx), keypair.clientId, parseKeypairPatch(keypairs, { comment: form.get('comment') ?? '', grants: grantsOfForm(form) }, keypair.accountId));
      return 'saved';
    }),
  );
  router.post('/keypairs/:clientId/disable', (ctx) =>
    change(ctx, 'settings', async (keypair, form) => {
      if (form.get('confirm') !== 'yes') throw validationFailed([{ field: 'confirm', message: 'tick the box to confirm that token requests with this keypair are to be refused' }]);
      const reason = form.get('reason')?.trim();
      await keypairs.updateKeypair(actorFor(ctx), keypair.clientId, parseKeypairPatch(keypairs, { enabled: false, ...(reason && { disabledReason: reason }) }, keypair.accountId));
      return 'disabled';
    }),
  );
  router.post('/keypairs/:clientId/enable', (ctx) =>
    change(ctx, 'settings', async (keypair) => {
      await keypairs.updateKeypair(actorFor(ctx), keypair.clientId, parseKeypairPatch(keypairs, { enabled: true }, keypair.accountId));
      return 'enabled';
    }),
  );
  /** The keys of a public_key keypair, through PATCH publicKeys: those kept keep their addedAt. */
  const keptKeys = (keypair: Keypair) => keypair.publicKeys.map((key) => key.jwk);
  router.post('/keypairs/:clientId/keys/add', (ctx) =>
    change(ctx, 'settings', async (keypair, form) => {
      const added = pastedPublicKeys(form.get('publicKeys') ?? '', 'publicKeys');
      // The domain names keys by their place in the whole list: the pasted ones come after those kept.
      await keypairs.updateKeypair(actorFor(ctx), keypair.clientId, parseKeypairPatch(keypairs, { publicKeys: [...keptKeys(keypair), ...added] }, keypair.accountId));
      return 'key_added';
    }),
  );
  router.post('/keypairs/:clientId/keys/remove', (ctx) =>
    change(ctx, 'settings', async (keypair, form) => {
      const thumbprint = form.get('thumbprint') ?? '';
      if (!keypair.publicKeys.some((key) => key.thumbprint === thumbprint)) throw validationFailed([{ field: 'thumbprint', message: 'names no key of this keypair' }]);
      const kept = keypair.publicKeys.filter((key) => key.thumbprint !== thumbprint).map((key) => key.jwk);
      await keypairs.updateKeypair(actorFor(ctx), keypair.clientId, parseKeypairPatch(keypairs, { publicKeys: kept }, keypair.accountId));
      return 'key_removed';
    }),
  );
  router.post('/keypairs/:clientId/rotate', async (ctx) => {
    const keypair = await reachableKeypair(ctx);
    const form = formOf(ctx);
    const chosen = form.get('gracePeriodSeconds') ?? '';
    const grace = GRACE_CHOICES.find(([seconds]) => String(seconds) === chosen)?.[0];
    const errors: FieldError[] = [
      ...(grace === undefined ? [{ field: 'gracePeriodSeconds', message: chosen === '' ? 'choose how long the current secret keeps working' : 'pick one of the offered grace periods' }] : []),
      ...(form.get('confirm') !== 'yes' ? [{ field: 'confirm', message: 'tick the box to confirm the rotation' }] : []),
    ];
    if (errors.length > 0) {
      await showKeypair(ctx, keypair, 'settings', undefined, errors, 400);
      return;
    }
    const rotated = await keypairs.rotateSecret(actorFor(ctx), keypair.clientId, grace!);
    const verb = grace! > 0 ? `Rotated; the previous secret works ${GRACE_CHOICES.find(([seconds]) => seconds === grace)![1]} more` : 'Rotated; the previous secret no longer works';
    await showSecretOnce(ctx, { clientId: rotated.keypair.clientId, clientSecret: rotated.clientSecret, title: `Keypair ${keypair.name} rotated`, verb });
  });

  // The one view of a new secret; a reload (or any later visit) finds it gone.
  router.get('/keypairs/:clientId/secret/:viewId', async (ctx) => {
    const keypair = await reachableKeypair(ctx);
    const view = await secretViews.take(ctx.cookies.get(COOKIE)!, ctx.params.viewId ?? '', keypair.clientId);
    const frame = await frameOf(ctx, reach);
    if (!view) {
      send(ctx, 410, secretGonePage(frame, keypair));
      return;
    }
    send(ctx, 200, secretPage(frame, keypair, view, snippetTarget(keypair)));
  });

  /**
   * What the secret page's snippets ask for: a token for the default resource server when
   * the keypair holds a grant there (no `resource` needed), else for its first grant's.
   */
  function snippetTarget(keypair: Keypair): SnippetTarget {
    const fallback = deps.resourceServers.list(new Set([keypair.accountId])).find((server) => server.isDefault)?.identifier;
    const grant = keypair.grants.find((candidate) => candidate.resourceServer === fallback) ?? keypair.grants[0];
    const audience = grant?.resourceServer ?? fallback ?? deps.issuer;
    return { clientId: keypair.clientId, issuer: deps.issuer, audience, namesResource: audience !== fallback, scope: grant?.scopes[0] };
  }

  router.post('/keypairs/:clientId/delete', async (ctx) => {
    const keypair = await reachableKeypair(ctx);
    if (formOf(ctx).get('confirmName') !== keypair.name) {
      await showKeypair(ctx, keypair, 'settings', undefined, [{ field: 'confirmName', message: `type the keypair's name, ${keypair.name}, to delete it` }], 400);
      return;
    }
    await keypairs.deleteKeypair(actorFor(ctx), keypair.clientId);
    const owner = keypair.environmentId === null ? `/console/accounts/${keypair.accountId}` : `/console/environments/${keypair.environmentId}`;
    seeOther(ctx, `${owner}?deleted=${keypair.clientId}`);
  });
}
