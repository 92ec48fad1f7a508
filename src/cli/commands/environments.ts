import { ADMIN_FLAGS, basics, defineAdminCommand, render, requireId, requireIdFlag, requireValue, unknownAction } from '../admin_command.js';

/** `keygate environments list --account ID|create --account ID --name N|close ID` */
export const environments = defineAdminCommand({
  name: 'environments',
  flags: { ...ADMIN_FLAGS, account: { type: 'string' }, name: { type: 'string' } },
  async run(client, action, id, values) {
    switch (action) {
      case 'list':
        return render(values.json, await client.call('GET', `/accounts/${requireIdFlag(values.account, '--account')}/environments`), basics);
      case 'create':
        return render(values.json, await client.call('POST', `/accounts/${requireIdFlag(values.account, '--account')}/environments`, { name: requireValue(values.name, '--name') }), basics);
      case 'close':
        await client.call('DELETE', `/environments/${requireId(id, 'environment')}`);
        return values.json ? { closed: id } : `closed environment ${id} and deleted its keypairs\n`;
      default:
        throw unknownAction('environments', action);
    }
  },
});
