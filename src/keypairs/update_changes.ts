import type { Keypair, KeypairChanges } from './store.js';

/** The fields an update audit event records, before and after. */
export const AUDITED_FIELDS = ['name', 'comment', 'scopes', 'grants', 'rateLimitPerMinute', 'allowedIps', 'autoDisable', 'enabled', 'disabledReason', 'publicKeys', 'federation', 'requireDpop'] as const;

/** The changes of a row update in the domain's names, to compare with the keypair before. */
export function camelChanges(changes: KeypairChanges): Partial<Keypair> {
  return {
    ...(changes.name !== undefined && { name: changes.name }),
    ...(changes.comment !== undefined && { comment: changes.comment }),
    ...(changes.rate_limit_per_minute !== undefined && { rateLimitPerMinute: changes.rate_limit_per_minute }),
    ...(changes.allowed_ips !== undefined && { allowedIps: changes.allowed_ips }),
    ...(changes.auto_disable !== undefined && { autoDisable: changes.auto_disable }),
    ...(changes.enabled !== undefined && { enabled: changes.enabled }),
    ...(changes.disabled_reason !== undefined && { disabledReason: changes.disabled_reason }),
    ...(changes.require_dpop !== undefined && { requireDpop: changes.require_dpop }),
  };
}

/** A change that only flips `enabled` is recorded as enabled/disabled; anything else as updated. */
export function eventForUpdate(changes: KeypairChanges): string {
  const onlyState = changes.enabled !== undefined && Object.keys(changes).every((field) => field === 'enabled' || field.startsWith('disabled_'));
  if (onlyState && changes.enabled === false) return 'keypair.disabled';
  if (onlyState && changes.enabled === true) return 'keypair.enabled';
  return 'keypair.updated';
}
