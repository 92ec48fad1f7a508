import type { Config } from '../config/config.js';
import { asciiLowerCase } from '../shared/text.js';
import { AdminClient } from './admin_client.js';
import type { Page } from './api_types.js';
import { CliError, EXIT, NotFoundError } from './errors.js';
import { withLocalIssuer } from './local_server.js';

interface ListedUser {
  readonly id: string;
  readonly email: string;
}

/** How long a check before minting waits for the server (ms): it is a courtesy, not the command. */
const CHECK_TIMEOUT_MS = 5000;

const unknownUser = (email: string, url: string) => new NotFoundError(`no user has the email ${email} on ${url}; keygate users create --email ${email} adds one`);

/**
 * The user with this email, through GET /users (operators only). Emails compare as the
 * server and the console compare them: A-Z folded, nothing else.
 */
export async function findUserByEmail(client: AdminClient, email: string, timeoutMs?: number): Promise<ListedUser | undefined> {
  const users = await client.call<Page<ListedUser>>('GET', '/users', undefined, timeoutMs);
  const wanted = asciiLowerCase(email);
  return users.data.find((user) => asciiLowerCase(user.email) === wanted);
}

/**
 * `--user ID` or `--user EMAIL` as the user id the admin API takes. Unknown emails are a
 * not-found error rather than the server's invite, which would create the user. A caller
 * who may not list users (not an operator) gets the server's own by-email rule.
 */
export async function resolveUser(client: AdminClient, user: string): Promise<string> {
  if (!user.includes('@')) return user;
  let found: ListedUser | undefined;
  try {
    found = await findUserByEmail(client, user);
  } catch (error) {
    if (error instanceof CliError && error.problem?.status === 403) return user;
    throw error;
  }
  if (!found) throw unknownUser(user, client.baseUrl);
  return found.id;
}

/**
 * Before admin-token or console-link mints for --email: when the server answers, an
 * unknown email is refused (exit 3); when it cannot be asked (down, keys it does not
 * share), a warning says so on stderr and the caller mints anyway. Returns the
 * configuration to sign with: the found server's ISSUER.
 */
export async function checkUserBeforeMinting(config: Config, url: string | undefined, email: string): Promise<Config> {
  let client: AdminClient | undefined;
  let found: ListedUser | undefined;
  try {
    client = await AdminClient.connect(config, { url, json: false });
    found = await findUserByEmail(client, email, CHECK_TIMEOUT_MS);
  } catch (error) {
    if (!(error instanceof CliError) || error.exitCode === EXIT.usage) throw error;
    const server = client?.baseUrl ?? url ?? process.env.KEYGATE_URL ?? config.issuer;
    process.stderr.write(`keygate: warning: could not check that ${email} is a user of ${server} (${error.message}); minting anyway\n`);
    return client?.server ?? withLocalIssuer(config, url ?? (process.env.KEYGATE_URL || undefined));
  }
  if (!found) throw unknownUser(email, client.baseUrl);
  return client.server;
}
