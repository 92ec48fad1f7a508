import { ADMIN_FLAGS, basics, defineAdminCommand, render, requireId, requireValue, unknownAction } from '../admin_command.js';

/** `keygate accounts list|create --name N|show ID|close ID` */
export const accounts = defineAdminCommand({
  name: 'accounts',
  flags: { ...ADMIN_FLAGS, name: { type: 'string' } },
  async run(client, action, id, values) {
    switch (action) {
      case 'list':
        return render(values.json, await client.call('GET', '/accounts'), basics);
      case 'create':
        return render(values.json, await client.call('POST', '/accounts', { name: requireValue(values.name, '--name') }), basics);
      case 'show':
        return render(values.json, await client.call('GET', `/accounts/${requireId(id, 'account')}`), basics);
      case 'close':
        await client.call('DELETE', `/accounts/${requireId(id, 'account')}`);
        return values.json ? { closed: id } : `closed account ${id} and deleted its keypairs\n`;
      default:
        throw unknownAction('accounts', action);
    }
  },
});
