import { ADMIN_FLAGS, basics, defineAdminCommand, render, requireValue, unknownAction, words } from '../admin_command.js';

/** `keygate resource-servers list|create --identifier URI --name N --scopes S [--ttl SECONDS] [--available-to ACC,ACC]` */
export const resourceServers = defineAdminCommand({
  name: 'resource-servers',
  flags: { ...ADMIN_FLAGS, identifier: { type: 'string' }, name: { type: 'string' }, scopes: { type: 'string' }, ttl: { type: 'string' }, 'available-to': { type: 'string' } },
  async run(client, action, _id, values) {
    switch (action) {
      case 'list':
        return render(values.json, await client.call('GET', '/resource-servers'), (item) => ({
          ID: String(item.id),
          IDENTIFIER: String(item.identifier),
          NAME: String(item.name),
          SCOPES: (item.scopes as Array<{ name: string }>).map((scope) => scope.name).join(' '),
          TTL: String(item.accessTokenTtl),
          AVAILABLE_TO: item.availableTo === null || item.availableTo === undefined ? 'all' : (item.availableTo as string[]).join(','),
          DEFAULT: item.isDefault ? 'yes' : '',
        }));
      case 'create': {
        const scopes = (words(values.scopes) ?? []).map((name) => ({ name, description: name }));
        const body = { identifier: requireValue(values.identifier, '--identifier'), name: requireValue(values.name, '--name'), scopes, ...(values.ttl !== undefined && { accessTokenTtl: Number(values.ttl) }), ...(values['available-to'] !== undefined && { availableTo: values['available-to'].split(',').map((id) => id.trim()).filter(Boolean) }) };
        return render(values.json, await client.call('POST', '/resource-servers', body), basics);
      }
      default:
        throw unknownAction('resource-servers', action);
    }
  },
});
