import { ADMIN_FLAGS, basics, defineAdminCommand, render, requireValue, unknownAction } from '../admin_command.js';

/** `keygate users list|create --email E [--name N] [--operator]` */
export const users = defineAdminCommand({
  name: 'users',
  flags: { ...ADMIN_FLAGS, email: { type: 'string' }, name: { type: 'string' }, operator: { type: 'boolean' } },
  async run(client, action, _id, values) {
    switch (action) {
      case 'list':
        return render(values.json, await client.call('GET', '/users'), (item) => ({ ID: String(item.id), EMAIL: String(item.email), NAME: String(item.name), OPERATOR: item.isOperator ? 'yes' : '' }));
      case 'create':
        return render(values.json, await client.call('POST', '/users', { email: requireValue(values.email, '--email'), ...(values.name !== undefined && { name: values.name }), ...(values.operator && { isOperator: true }) }), basics);
      default:
        throw unknownAction('users', action);
    }
  },
});
