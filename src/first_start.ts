import type { Knex } from 'knex';
import { appendEvent, SYSTEM_ACTOR } from './audit/store.js';
import type { Config } from './config/config.js';
import { insertResourceServer } from './resource_servers/store.js';
import { newId } from './shared/ids.js';
import { insertAccount, insertEnvironment } from './tenancy/store.js';
import { countUsers, insertUser } from './tenancy/user_store.js';

export interface FirstStart {
  readonly operatorEmail: string;
  readonly accountId: string;
  readonly environmentId: string;
  readonly resourceIdentifier: string;
}

/**
 * On an empty database, creates once: an operator user, a default account, its
 * `development` environment and the default resource server. Returns what it made,
 * or undefined when the database already had users. Several processes starting at
 * once serialise on an advisory lock, so it happens exactly once.
 */
export async function bootstrapFirstStart(db: Knex, config: Pick<Config, 'operatorEmail' | 'defaultResource' | 'defaultScopes'>, now: Date): Promise<FirstStart | undefined> {
  return db.transaction(async (trx) => {
    await trx.raw("select pg_advisory_xact_lock(hashtext('keygate.first_start'))");
    if ((await countUsers(trx)) > 0) return undefined;

    const operatorId = newId('user');
    const accountId = newId('account');
    const environmentId = newId('environment');
    const resourceServerId = newId('resourceServer');
    await insertUser(trx, { id: operatorId, email: config.operatorEmail, name: 'Operator', isOperator: true }, now);
    await insertAccount(trx, { id: accountId, name: 'Default account' }, now);
    await insertEnvironment(trx, { id: environmentId, accountId, name: 'development' }, now);
    await insertResourceServer(trx, {
      id: resourceServerId,
      identifier: config.defaultResource,
      name: 'Default API',
      scopes: config.defaultScopes.map((name) => ({ name, description: `${name} access` })),
      accessTokenTtl: 300,
      isDefault: true,
    }, now);
    const created = [
      ['user.created', 'user', operatorId, null, null],
      ['account.created', 'account', accountId, accountId, null],
      ['environment.created', 'environment', environmentId, accountId, environmentId],
      ['resource_server.created', 'resource_server', resourceServerId, null, null],
    ] as const;
    for (const [action, targetType, targetId, accountIdOf, environmentIdOf] of created) {
      await appendEvent(trx, SYSTEM_ACTOR, { action, targetType, targetId, accountId: accountIdOf, environmentId: environmentIdOf, after: { firstStart: true } }, now);
    }
    return { operatorEmail: config.operatorEmail, accountId, environmentId, resourceIdentifier: config.defaultResource };
  });
}
