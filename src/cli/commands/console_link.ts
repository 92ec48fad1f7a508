import { mintConsoleLink } from '../../console/sign_in.js';
import { loadKeySet } from '../../signing/keystore.js';
import { UsageError } from '../errors.js';
import { defineCommand } from '../options.js';

/** `keygate console-link --operator | --email E`: prints a one-time sign-in link to the admin console. */
export const consoleLink = defineCommand({
  name: 'console-link',
  flags: { operator: { type: 'boolean' }, email: { type: 'string' } },
  async run(config, { values }) {
    if (values.operator === (values.email !== undefined)) throw new UsageError('console-link takes --operator or --email E');
    const link = await mintConsoleLink(config, await loadKeySet(config), values.email ?? config.operatorEmail);
    process.stdout.write(`${link}\nOpen it in a browser within 10 minutes; it signs in once.\n`);
  },
});
