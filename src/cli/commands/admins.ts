import { ADMIN_FLAGS, asId, defineAdminCommand, requireValue, unknownAction } from '../admin_command.js';
import { UsageError } from '../errors.js';
import { resolveUser } from '../user_lookup.js';

/** `keygate admins grant|revoke --user ID|EMAIL (--account ID | --environment ID)` */
export const admins = defineAdminCommand({
  name: 'admins',
  flags: { ...ADMIN_FLAGS, user: { type: 'string' }, account: { type: 'string' }, environment: { type: 'string' } },
  async run(client, action, _id, values) {
    if (action !== 'grant' && action !== 'revoke') throw unknownAction('admins', action);
    const given = requireValue(values.user, '--user');
    if (Boolean(values.account) === Boolean(values.environment)) throw new UsageError('give --account ID or --environment ID');
    const user = await resolveUser(client, given);
    const owner = values.account ? `/accounts/${asId(values.account, '--account')}` : `/environments/${asId(values.environment!, '--environment')}`;
    // An email as one segment (encoded); anything else must be a user id.
    const path = `${owner}/admins/${user.includes('@') ? encodeURIComponent(user) : asId(user, '--user')}`;
    const result = await client.call(action === 'grant' ? 'PUT' : 'DELETE', path);
    return values.json ? (result ?? { revoked: user }) : `${action === 'grant' ? 'granted' : 'revoked'} admin for ${given === user ? user : `${given} (${user})`} on ${values.account ?? values.environment}\n`;
  },
});
