import type { Keygate } from '../../src/app.js';
import { mintAdminToken } from '../../src/signing/admin_token.js';
import { newId } from '../../src/shared/ids.js';
import { OPERATOR } from './keygate.js';

/** An admin JWT for `email`, minted exactly as `keygate admin-token` does. */
export function adminToken(keygate: Keygate, email: string, ttlSeconds = 600, now?: number): Promise<string> {
  return mintAdminToken(keygate.config, keygate.keySet(), email, ttlSeconds, now);
}

export interface TestUser {
  readonly id: string;
  readonly email: string;
  readonly token: string;
  /** `Authorization` header value. */
  readonly bearer: string;
}

/** A user with a fresh email, granted what `grants` says, with an admin token. */
export async function createUser(
  keygate: Keygate,
  grants: { operator?: boolean; accounts?: string[]; environments?: Array<{ environmentId: string; accountId: string }> } = {},
): Promise<TestUser> {
  const email = `${newId('user').slice(4, 14).toLowerCase()}@example.test`;
  const user = await keygate.tenancy.createUser(OPERATOR, { email, name: `User ${email}`, isOperator: grants.operator ?? false });
  for (const accountId of grants.accounts ?? []) await keygate.tenancy.grantAdmin(OPERATOR, user.id, { accountId });
  for (const environment of grants.environments ?? []) await keygate.tenancy.grantAdmin(OPERATOR, user.id, environment);
  const token = await adminToken(keygate, email);
  return { id: user.id, email, token, bearer: `Bearer ${token}` };
}

/** A secret that differs from `secret` in its last character: always wrong, never by chance the same. */
export function wrongSecret(secret: string): string {
  return `${secret.slice(0, -1)}${secret.endsWith('x') ? 'y' : 'x'}`;
}
