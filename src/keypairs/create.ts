import { appendEvent, type Actor } from '../audit/store.js';
import { validationFailed, type FieldError } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import type { KeypairServiceDeps } from './deps.js';
import { replaceGrants } from './grant_store.js';
import { defaultScopes, resolveGrants, serversFor } from './grants.js';
import type { CreateKeypairInput } from './inputs.js';
import { credentialColumns, credentialSummary, resolveCredential, unusableSecretRow, type ResolvedCredential } from './keyless.js';
import { actorLabel, notifyAdmins } from './notices.js';
import { checkActiveCap, resolveOwner } from './owner_lock.js';
import { secretHint, type NewSecret } from './secret.js';
import { insertKeypair, insertSecret, type Grant } from './store.js';

/**
 * One keypair's create, in one transaction with its grants, its secret row, its audit
 * event and its notice: a secret keypair (`minted`) or a keyless one (`input.credential`,
 * with an unusable secret row for its status-list index). `errors` are the caller's own
 * checks, reported with the grants' and the credential's in one answer. Returns the
 * client_id.
 */
export async function insertNewKeypair(deps: KeypairServiceDeps, actor: Actor, input: CreateKeypairInput, minted: NewSecret | undefined, errors: readonly FieldError[], now: Date): Promise<string> {
  const clientId = newId('keypair');
  let grants: Grant[] = [];
  await deps.db.transaction(async (trx) => {
    const owner = await resolveOwner(trx, input.owner);
    const resolved = resolveGrants(owner.accountId, input, [], await serversFor(trx, input));
    const keyless = input.credential ? await resolveCredential(trx, input.credential, now) : { errors: [] };
    const credential: ResolvedCredential = keyless.credential ?? { credentialType: 'secret', publicKeys: [], federation: null };
    if (errors.length + resolved.errors.length + keyless.errors.length > 0) throw validationFailed([...errors, ...resolved.errors, ...keyless.errors]);
    grants = resolved.grants ?? [];
    await checkActiveCap(trx, owner, now, deps.maxActiveKeypairs);
    await insertKeypair(trx, {
      client_id: clientId,
      account_id: owner.accountId,
      environment_id: owner.environmentId,
      name: input.name,
      comment: input.comment ?? '',
      expires_at: input.expiresAt ?? null,
      rate_limit_per_minute: input.rateLimitPerMinute ?? null,
      allowed_ips: [...(input.allowedIps ?? [])],
      auto_disable: input.autoDisable ?? null,
      require_dpop: input.requireDpop ?? false,
      ...credentialColumns(credential),
      created_by: actorLabel(actor),
      created_at: now,
      updated_at: now,
    });
    await replaceGrants(trx, [clientId], grants);
    await insertSecret(trx, minted ? { id: newId('secret'), client_id: clientId, secret_sha256: minted.sha256, last4: minted.last4, created_at: now } : unusableSecretRow(clientId, now));
    await appendEvent(trx, actor, {
      action: 'keypair.created',
      targetType: 'keypair',
      targetId: clientId,
      accountId: owner.accountId,
      environmentId: owner.environmentId,
      after: {
        name: input.name,
        comment: input.comment ?? '',
        scopes: defaultScopes(grants, deps.catalog.defaultServer?.id),
        grants,
        expiresAt: input.expiresAt?.toISOString() ?? null,
        rateLimitPerMinute: input.rateLimitPerMinute ?? null,
        allowedIps: input.allowedIps ?? [],
        autoDisable: input.autoDisable ?? null,
        requireDpop: input.requireDpop ?? false,
        ...credentialSummary(credential),
      },
    }, now);
    const keypair = { clientId, name: input.name, ...owner };
    await notifyAdmins(trx, 'keypair.created', keypair, actor, now, {
      scopes: defaultScopes(grants, deps.catalog.defaultServer?.id),
      ...(minted && { secretHint: secretHint(minted.last4) }),
      expiresAt: input.expiresAt?.toISOString() ?? null,
      ...credentialSummary(credential),
    });
  });
  return clientId;
}
