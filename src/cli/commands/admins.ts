import { ADMIN_FLAGS, defineAdminCommand, requireValue, unknownAction } from '../admin_command.js';
import { UsageError } from '../errors.js';

/** `keygate admins grant|revoke --user ID (--account ID | --environment ID)` */
export const admins = defineAdminCommand({
  name: 'admins',
  flags: { ...ADMIN_FLAGS, user: { type: 'string' }, account: { type: 'string' }, environment: { type: 'string' } },
  async run(client, action, _id, values) {
    if (action !== 'grant' && action !== 'revoke') throw unknownAction('admins', action);
    const user = requireValue(values.user, '--user');
    if (Boolean(values.account) === Boolean(values.environment)) throw new UsageError('give --account ID or --environment ID');
    const path = values.account ? `/accounts/${values.account}/admins/${user}` : `/environments/${values.environment}/admins/${user}`;
    const result = await client.call(action === 'grant' ? 'PUT' : 'DELETE', path);
    return values.json ? (result ?? { revoked: user }) : `${action === 'grant' ? 'granted' : 'revoked'} admin for ${user} on ${values.account ?? values.environment}\n`;
  },
});
