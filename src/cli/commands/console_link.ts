import { mintConsoleLink } from '../../console/sign_in.js';
import { serverKeySet } from '../admin_client.js';
import { UsageError } from '../errors.js';
import { withLocalIssuer } from '../local_server.js';
import { defineCommand } from '../options.js';
import { checkUserBeforeMinting } from '../user_lookup.js';

/**
 * `keygate console-link --operator | --email E [--url U]`: prints a one-time sign-in link
 * to the admin console of the server's ISSUER. With --email the server is asked first
 * whether that user exists (see checkUserBeforeMinting).
 */
export const consoleLink = defineCommand({
  name: 'console-link',
  flags: { operator: { type: 'boolean' }, email: { type: 'string' }, url: { type: 'string' } },
  async run(config, { values }) {
    if (values.operator === (values.email !== undefined)) throw new UsageError('console-link takes --operator or --email E');
    const named = values.url ?? (process.env.KEYGATE_URL || undefined);
    const server = values.email === undefined ? await withLocalIssuer(config, named) : await checkUserBeforeMinting(config, values.url, values.email);
    const link = await mintConsoleLink(server, await serverKeySet(server, 'a console link'), values.email ?? server.operatorEmail);
    process.stdout.write(`${link}\nOpen it in a browser within 10 minutes; it signs in once.\n`);
  },
});
