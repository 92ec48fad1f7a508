import type Router from '@koa/router';
import type { Context } from 'koa';
import { isOperator } from '../../access/policy.js';
import type { Reach } from '../../access/reach.js';
import { parseResourceServerCreate } from '../../contract/parse.js';
import { EMAIL_MAX_LENGTH, NAME_MAX_LENGTH, NAME_MIN_LENGTH } from '../../shared/limits.js';
import type { ResourceServerCatalog } from '../../resource_servers/catalog.js';
import type { ResourceServerService } from '../../resource_servers/service.js';
import { KeygateError, type FieldError } from '../../shared/errors.js';
import type { TenancyService } from '../../tenancy/service.js';
import { accountsPage, adminsPage, resourceServersPage, type AdminScopeChoice } from '../views/operator.js';
import { actorFor, formOf, frameOf, principalOf, seeOther, send } from './context.js';
import { fieldErrorsOf, resourceServerBody } from './forms.js';

export interface OperatorDeps {
  readonly tenancy: TenancyService;
  readonly resourceServers: ResourceServerService;
  readonly catalog: ResourceServerCatalog;
}

const NAME_RULE: FieldError = { field: 'name', message: `must be ${NAME_MIN_LENGTH} to ${NAME_MAX_LENGTH} characters` };
const nameAllowed = (name: string) => name.length >= NAME_MIN_LENGTH && name.length <= NAME_MAX_LENGTH;

/** Operators only (anyone else finds nothing here): accounts and environments, admins, resource servers. */
export function operatorRoutes(router: Router, deps: OperatorDeps, reach: Reach): void {
  const { tenancy } = deps;

  router.use('/operator', async (ctx, next) => {
    if (!isOperator(principalOf(ctx))) throw new KeygateError('not_found', 'Not found.');
    await next();
  });

  async function showAccounts(ctx: Context, errors: readonly FieldError[] = [], status = 200) {
    const frame = await frameOf(ctx, reach);
    const accounts = (await tenancy.listAccounts()).filter((account) => account.status === 'active');
    const withEnvironments = await Promise.all(
      accounts.map(async (account) => ({ account, environments: (await tenancy.listEnvironments(account.id)).filter((environment) => environment.status === 'active') })),
    );
    send(ctx, status, accountsPage(frame, withEnvironments, errors));
  }
  router.get('/operator/accounts', (ctx) => showAccounts(ctx));
  router.post('/operator/accounts', async (ctx) => {
    const name = (formOf(ctx).get('name') ?? '').trim();
    if (!nameAllowed(name)) return showAccounts(ctx, [NAME_RULE], 400);
    await tenancy.createAccount(actorFor(ctx), name);
    seeOther(ctx, '/console/operator/accounts');
  });
  router.post('/operator/accounts/:accountId/environments', async (ctx) => {
    const name = (formOf(ctx).get('name') ?? '').trim();
    if (!nameAllowed(name)) return showAccounts(ctx, [NAME_RULE], 400);
    const account = await reach.account(principalOf(ctx), ctx.params.accountId!);
    await tenancy.createEnvironment(actorFor(ctx), account.id, name);
    seeOther(ctx, '/console/operator/accounts');
  });

  async function showAdmins(ctx: Context, errors: readonly FieldError[] = [], status = 200) {
    const frame = await frameOf(ctx, reach);
    const users = await tenancy.listUsers();
    const accounts = (await tenancy.listAccounts()).filter((account) => account.status === 'active');
    const scopes: AdminScopeChoice[] = [];
    for (const account of accounts) {
      scopes.push({ value: `account:${account.id}`, label: `account ${account.name}` });
      for (const environment of (await tenancy.listEnvironments(account.id)).filter((candidate) => candidate.status === 'active')) {
        scopes.push({ value: `environment:${environment.id}`, label: `environment ${account.name} / ${environment.name}` });
      }
    }
    const rows = await Promise.all(
      users.map(async (user) => {
        const grants = await tenancy.membershipsOf(user.id);
        const labels = grants.map((grant) => scopes.find((scope) => scope.value === (grant.environmentId ? `environment:${grant.environmentId}` : `account:${grant.accountId}`))?.label ?? 'closed');
        return { user, labels };
      }),
    );
    send(ctx, status, adminsPage(frame, rows, scopes, errors));
  }
  router.get('/operator/admins', (ctx) => showAdmins(ctx));
  router.post('/operator/admins', async (ctx) => {
    const form = formOf(ctx);
    const email = (form.get('email') ?? '').trim().toLowerCase();
    const [kind, id] = (form.get('scope') ?? '').split(':');
    if (!/^[^@\s]+@[^@\s]+$/.test(email) || email.length > EMAIL_MAX_LENGTH) return showAdmins(ctx, [{ field: 'email', message: 'must be an email address' }], 400);
    const environment = kind === 'environment' ? await tenancy.findEnvironment(id ?? '') : undefined;
    const account = await tenancy.findAccount(kind === 'account' ? (id ?? '') : (environment?.accountId ?? ''));
    if (!account || account.status !== 'active' || (kind === 'environment' && environment?.status !== 'active')) return showAdmins(ctx, [{ field: 'scope', message: 'pick an account or environment' }], 400);
    const existing = (await tenancy.listUsers()).find((user) => user.email === email);
    const user = existing ?? (await tenancy.createUser(actorFor(ctx), { email, name: (form.get('name') ?? '').trim().slice(0, NAME_MAX_LENGTH), isOperator: false }));
    await tenancy.grantAdmin(actorFor(ctx), user.id, environment ? { environmentId: environment.id, accountId: account.id } : { accountId: account.id });
    seeOther(ctx, '/console/operator/admins');
  });

  async function showResourceServers(ctx: Context, errors: readonly FieldError[] = [], status = 200, form?: URLSearchParams) {
    const frame = await frameOf(ctx, reach);
    send(ctx, status, resourceServersPage(frame, deps.catalog.all(), errors, form));
  }
  router.get('/operator/resource-servers', (ctx) => showResourceServers(ctx));
  router.post('/operator/resource-servers', async (ctx) => {
    const form = formOf(ctx);
    try {
      const input = parseResourceServerCreate(resourceServerBody(form));
      await deps.resourceServers.create(actorFor(ctx), input);
    } catch (error) {
      return showResourceServers(ctx, fieldErrorsOf(error), 400, form);
    }
    seeOther(ctx, '/console/operator/resource-servers');
  });
}
