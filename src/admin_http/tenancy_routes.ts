import Router from '@koa/router';
import type { Context } from 'koa';
import { canManageAccount, canManageEnvironment, canSeeAccount, isOperator } from '../access/policy.js';
import { Reach, requireAllowed, requireVisible } from '../access/reach.js';
import type { AuditHistory } from '../audit/query.js';
import { asciiLowerCase } from '../shared/text.js';
import type { KeypairService } from '../keypairs/service.js';
import type { AdminScope, TenancyService } from '../tenancy/service.js';
import { readJsonBody } from './body.js';
import { actorFor, principalOf } from './context.js';
import { parseEventsQuery, eventsPage } from './keypairs_routes.js';
import { AdminInviteSchema, NameInputSchema, UserCreateSchema, UserUpdateSchema } from '../contract/tenancy.js';
import { validate } from '../contract/validate.js';
import { accountView, environmentView, membershipView, userView } from './views.js';

export function tenancyRoutes(deps: { tenancy: TenancyService; keypairs: KeypairService; history: AuditHistory }): Router {
  const router = new Router();
  const { tenancy } = deps;
  const reach = new Reach(deps);

  const visibleAccount = (ctx: Context) => reach.account(principalOf(ctx), ctx.params.accountId!);
  const visibleEnvironment = (ctx: Context) => reach.environment(principalOf(ctx), ctx.params.environmentId!);

  async function existingUser(ctx: Context) {
    const user = await tenancy.findUser(ctx.params.userId!);
    requireVisible(user !== undefined, 'User');
    return user!;
  }

  /**
   * PUT .../admins/:userId, where :userId is a user id or an email address. By id,
   * operators reach every user and account admins only the users of their account
   * (anyone else is a 404 like an unknown id). By email, anyone who may grant here
   * invites: the user with that email, created when none has it.
   */
  async function grant(ctx: Context, scope: AdminScope): Promise<{ userId: string; created: boolean }> {
    const key = ctx.params.userId!;
    if (key.includes('@')) {
      const address = validate(AdminInviteSchema, { userId: key }).userId;
      return tenancy.grantAdminByEmail(actorFor(ctx), address, scope);
    }
    const reach = isOperator(principalOf(ctx)) ? 'anyone' : 'account';
    return { userId: key, created: await tenancy.grantAdmin(actorFor(ctx), key, scope, reach) };
  }

  router.get('/me', async (ctx) => {
    const principal = principalOf(ctx);
    const user = (await tenancy.findUser(principal.userId))!;
    const memberships = await Promise.all(
      (await tenancy.membershipsOf(principal.userId)).map(async (membership) => {
        const environment = membership.environmentId ? await tenancy.findEnvironment(membership.environmentId) : undefined;
        const account = await tenancy.findAccount(membership.accountId ?? environment!.accountId);
        return { ...membershipView(membership), accountId: account!.id, accountName: account!.name, environmentName: environment?.name ?? null };
      }),
    );
    ctx.body = { ...userView(user), memberships };
  });

  router.get('/accounts', async (ctx) => {
    const principal = principalOf(ctx);
    const accounts = (await tenancy.listAccounts()).filter((account) => account.status === 'active' && canSeeAccount(principal, account.id));
    ctx.body = { data: accounts.map(accountView), nextCursor: null };
  });

  router.post('/accounts', async (ctx) => {
    requireAllowed(isOperator(principalOf(ctx)), 'create accounts');
    const body = validate(NameInputSchema, await readJsonBody(ctx));
    const account = await tenancy.createAccount(actorFor(ctx), body.name);
    ctx.status = 201;
    ctx.set('Location', `/admin/v1/accounts/${account.id}`);
    ctx.body = accountView(account);
  });

  router.get('/accounts/:accountId', async (ctx) => {
    ctx.body = accountView(await visibleAccount(ctx));
  });

  router.patch('/accounts/:accountId', async (ctx) => {
    const account = await visibleAccount(ctx);
    requireAllowed(canManageAccount(principalOf(ctx), account.id), 'change this account');
    const body = validate(NameInputSchema, await readJsonBody(ctx));
    ctx.body = accountView(await tenancy.renameAccount(actorFor(ctx), account.id, body.name));
  });

  router.delete('/accounts/:accountId', async (ctx) => {
    const account = await visibleAccount(ctx);
    requireAllowed(canManageAccount(principalOf(ctx), account.id), 'close this account');
    await tenancy.closeAccount(actorFor(ctx), account.id);
    ctx.status = 204;
  });

  router.get('/accounts/:accountId/environments', async (ctx) => {
    const account = await visibleAccount(ctx);
    const environments = (await tenancy.listEnvironments(account.id)).filter((environment) => environment.status === 'active');
    ctx.body = { data: environments.map(environmentView), nextCursor: null };
  });

  router.post('/accounts/:accountId/environments', async (ctx) => {
    const account = await visibleAccount(ctx);
    const body = validate(NameInputSchema, await readJsonBody(ctx));
    const environment = await tenancy.createEnvironment(actorFor(ctx), account.id, body.name);
    ctx.status = 201;
    ctx.set('Location', `/admin/v1/environments/${environment.id}`);
    ctx.body = environmentView(environment);
  });

  router.get('/accounts/:accountId/events', async (ctx) => {
    const account = await visibleAccount(ctx);
    const { filter, page } = parseEventsQuery(ctx);
    const events = await deps.history.list({ ...filter, accountId: account.id }, page);
    eventsPage(ctx, events, page.limit);
  });

  router.get('/environments/:environmentId', async (ctx) => {
    ctx.body = environmentView(await visibleEnvironment(ctx));
  });

  router.patch('/environments/:environmentId', async (ctx) => {
    const environment = await visibleEnvironment(ctx);
    requireAllowed(canManageEnvironment(principalOf(ctx), environment), 'change this environment');
    const body = validate(NameInputSchema, await readJsonBody(ctx));
    ctx.body = environmentView(await tenancy.renameEnvironment(actorFor(ctx), environment.id, body.name));
  });

  router.delete('/environments/:environmentId', async (ctx) => {
    const environment = await visibleEnvironment(ctx);
    requireAllowed(canManageEnvironment(principalOf(ctx), environment), 'close this environment');
    await tenancy.closeEnvironment(actorFor(ctx), environment.id);
    ctx.status = 204;
  });

  router.put('/accounts/:accountId/admins/:userId', async (ctx) => {
    const account = await visibleAccount(ctx);
    requireAllowed(canManageAccount(principalOf(ctx), account.id), "grant this account's admin role");
    const { userId, created } = await grant(ctx, { accountId: account.id });
    ctx.status = created ? 201 : 200;
    ctx.body = { userId, role: 'admin', accountId: account.id, environmentId: null };
  });

  router.delete('/accounts/:accountId/admins/:userId', async (ctx) => {
    const account = await visibleAccount(ctx);
    requireAllowed(canManageAccount(principalOf(ctx), account.id), "revoke this account's admin role");
    await tenancy.revokeAdmin(actorFor(ctx), ctx.params.userId!, { accountId: account.id });
    ctx.status = 204;
  });

  router.put('/environments/:environmentId/admins/:userId', async (ctx) => {
    const environment = await visibleEnvironment(ctx);
    requireAllowed(canManageEnvironment(principalOf(ctx), environment), "grant this environment's admin role");
    const { userId, created } = await grant(ctx, { environmentId: environment.id, accountId: environment.accountId });
    ctx.status = created ? 201 : 200;
    ctx.body = { userId, role: 'admin', accountId: environment.accountId, environmentId: environment.id };
  });

  router.delete('/environments/:environmentId/admins/:userId', async (ctx) => {
    const environment = await visibleEnvironment(ctx);
    requireAllowed(canManageEnvironment(principalOf(ctx), environment), "revoke this environment's admin role");
    await tenancy.revokeAdmin(actorFor(ctx), ctx.params.userId!, { environmentId: environment.id, accountId: environment.accountId });
    ctx.status = 204;
  });

  router.get('/users', async (ctx) => {
    requireAllowed(isOperator(principalOf(ctx)), 'list users');
    ctx.body = { data: (await tenancy.listUsers()).map(userView), nextCursor: null };
  });

  router.post('/users', async (ctx) => {
    requireAllowed(isOperator(principalOf(ctx)), 'create users');
    const body = validate(UserCreateSchema, await readJsonBody(ctx));
    const user = await tenancy.createUser(actorFor(ctx), { email: asciiLowerCase(body.email), name: body.name ?? '', isOperator: body.isOperator ?? false });
    ctx.status = 201;
    ctx.set('Location', `/admin/v1/users/${user.id}`);
    ctx.body = userView(user);
  });

  router.get('/users/:userId', async (ctx) => {
    const principal = principalOf(ctx);
    // Users other than oneself exist only for operators.
    requireVisible(isOperator(principal) || ctx.params.userId === principal.userId, 'User');
    const user = await existingUser(ctx);
    ctx.body = { ...userView(user), memberships: (await tenancy.membershipsOf(user.id)).map(membershipView) };
  });

  router.patch('/users/:userId', async (ctx) => {
    const principal = principalOf(ctx);
    requireVisible(isOperator(principal) || ctx.params.userId === principal.userId, 'User');
    requireAllowed(isOperator(principal), 'change users');
    const user = await existingUser(ctx);
    const body = validate(UserUpdateSchema, await readJsonBody(ctx));
    ctx.body = userView(await tenancy.updateUser(actorFor(ctx), user.id, body));
  });

  return router;
}
