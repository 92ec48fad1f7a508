import { ADMIN_TOKEN_TTL_SECONDS, mintAdminToken } from '../../signing/admin_token.js';
import { serverKeySet } from '../admin_client.js';
import { UsageError } from '../errors.js';
import { withLocalIssuer } from '../local_server.js';
import { defineCommand, wholeNumber } from '../options.js';
import { checkUserBeforeMinting } from '../user_lookup.js';

/**
 * `keygate admin-token --operator | --email E [--ttl S] [--url U]`: prints an admin JWT for
 * the admin API, signed for the server's ISSUER. With --email the server is asked first
 * whether that user exists (see checkUserBeforeMinting).
 */
export const adminToken = defineCommand({
  name: 'admin-token',
  flags: { operator: { type: 'boolean' }, email: { type: 'string' }, ttl: { type: 'string' }, url: { type: 'string' } },
  async run(config, { values }) {
    if (values.operator === (values.email !== undefined)) throw new UsageError('admin-token takes --operator or --email E');
    // The server refuses admin tokens living longer than ADMIN_TOKEN_MAX_LIFETIME.
    const longest = Math.min(43_200, config.adminTokenMaxLifetimeSeconds);
    const ttl = wholeNumber('--ttl', values.ttl, Math.min(ADMIN_TOKEN_TTL_SECONDS, longest));
    if (ttl < 1 || ttl > longest) throw new UsageError(`--ttl must be 1 to ${longest} seconds`);
    const named = values.url ?? (process.env.KEYGATE_URL || undefined);
    const server = values.email === undefined ? await withLocalIssuer(config, named) : await checkUserBeforeMinting(config, values.url, values.email);
    const token = await mintAdminToken(server, await serverKeySet(server, 'an admin token'), values.email ?? server.operatorEmail, ttl);
    process.stdout.write(`${token}\n`);
  },
});
