import type { Command } from '../options.js';
import { accounts } from './accounts.js';
import { adminToken } from './admin_token.js';
import { admins } from './admins.js';
import { cleanup } from './cleanup.js';
import { clientKey } from './client_key.js';
import { consoleLink } from './console_link.js';
import { environments } from './environments.js';
import { keypairs } from './keypairs.js';
import { keys } from './keys.js';
import { migrate } from './migrate.js';
import { resourceServers } from './resource_servers.js';
import { serve } from './serve.js';
import { trustedIssuers } from './trusted_issuers.js';
import { users } from './users.js';

/** Every `keygate <command>`, each with its own flags. */
export const COMMANDS: readonly Command[] = [serve, migrate, cleanup, keys, adminToken, consoleLink, keypairs, clientKey, accounts, environments, resourceServers, trustedIssuers, users, admins];
