import { appendEvents, type Actor } from '../audit/store.js';
import { KeygateError, validationFailed } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import { replaceGrants } from './grant_store.js';
import { defaultScopes, resolveGrants, serversFor } from './grants.js';
import { actorLabel } from './notices.js';
import { resolveOwner, type KeypairOwner } from './owner_lock.js';
import { generateSecret } from './secret.js';
import type { KeypairServiceDeps } from './deps.js';
import { countActiveKeypairs, insertKeypair, insertSecret, type NewKeypairRow, type NewSecretRow } from './store.js';

/** Rows per statement: a thousand keypairs, their secrets and their audit events at a time. */
const BATCH = 1000;

/**
 * Creates `count` keypairs for one owner in batches: for seeding a benchmark or
 * importing many machine clients at once. Same rows, secrets and audit events as
 * createKeypair; the active-keypair cap applies to the whole batch.
 */
export async function createKeypairsInBulk(
  deps: KeypairServiceDeps,
  actor: Actor,
  owner: KeypairOwner,
  count: number,
  input: { namePrefix: string; scopes: readonly string[] },
): Promise<Array<{ clientId: string; clientSecret: string }>> {
  const now = deps.clock.now();
  const created: Array<{ clientId: string; clientSecret: string }> = [];
  await deps.db.transaction(async (trx) => {
    const resolved = await resolveOwner(trx, owner);
    const granted = resolveGrants(resolved.accountId, { scopes: input.scopes }, [], await serversFor(trx, { scopes: input.scopes }));
    if (granted.errors.length > 0) throw validationFailed(granted.errors);
    const grants = granted.grants ?? [];
    const scopes = defaultScopes(grants, deps.catalog.defaultServer?.id);
    const active = await countActiveKeypairs(trx, resolved, now);
    if (active + count > deps.maxActiveKeypairs) {
      throw new KeygateError('limit_reached', `${count} more keypairs would pass the cap of ${deps.maxActiveKeypairs} active keypairs.`);
    }
    for (let start = 0; start < count; start += BATCH) {
      const keypairs: NewKeypairRow[] = [];
      const secrets: NewSecretRow[] = [];
      for (let i = start; i < Math.min(count, start + BATCH); i += 1) {
        const clientId = newId('keypair');
        const minted = generateSecret();
        keypairs.push({ client_id: clientId, account_id: resolved.accountId, environment_id: resolved.environmentId, name: `${input.namePrefix}${i}`, comment: '', expires_at: null, created_by: actorLabel(actor), created_at: now, updated_at: now });
        secrets.push({ id: newId('secret'), client_id: clientId, secret_sha256: minted.sha256, last4: minted.last4, created_at: now });
        created.push({ clientId, clientSecret: minted.secret });
      }
      await insertKeypair(trx, keypairs);
      await replaceGrants(trx, keypairs.map((keypair) => keypair.client_id), grants);
      await insertSecret(trx, secrets);
      await appendEvents(
        trx,
        actor,
        keypairs.map((keypair) => ({ action: 'keypair.created', targetType: 'keypair', targetId: keypair.client_id, accountId: resolved.accountId, environmentId: resolved.environmentId, after: { name: keypair.name, scopes, grants, bulk: true } })),
        now,
      );
    }
  });
  return created;
}
