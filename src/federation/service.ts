import type { Knex } from 'knex';
import { appendEvent, type Actor } from '../audit/store.js';
import type { ChangeFeed } from '../db/notify.js';
import type { Clock } from '../shared/clock.js';
import { KeygateError, notFound } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import {
  deleteTrustedIssuerRow,
  findTrustedIssuer,
  insertTrustedIssuer,
  keypairsUsing,
  listTrustedIssuers,
  lockTrustedIssuer,
  updateTrustedIssuerRow,
  type KeypairReach,
  type TrustedIssuer,
  type TrustedIssuerFields,
} from './store.js';

export type { KeypairReach, TrustedIssuer, TrustedIssuerFields } from './store.js';

/** A create: `jwksUri`, `jwks` and `audience` left out are null (discovery; Keygate's ISSUER). */
export type TrustedIssuerInput = Pick<TrustedIssuerFields, 'issuer' | 'name'> & Partial<Omit<TrustedIssuerFields, 'issuer' | 'name'>>;

/** An update: the fields given change, the others stay. */
export type TrustedIssuerChanges = Partial<TrustedIssuerFields>;

const FIELDS = ['issuer', 'name', 'jwksUri', 'jwks', 'audience'] as const;

/** The fields that differ, for the audit event and to skip a change that changes nothing. */
function changedFields(before: TrustedIssuerFields, after: TrustedIssuerFields): Array<(typeof FIELDS)[number]> {
  return FIELDS.filter((field) => JSON.stringify(before[field]) !== JSON.stringify(after[field]));
}

const pick = (fields: TrustedIssuerFields, names: ReadonlyArray<(typeof FIELDS)[number]>) => Object.fromEntries(names.map((name) => [name, fields[name]]));

/**
 * Operators' trusted issuers. A change that can alter which tokens a keypair accepts
 * (issuer, keys, audience) sends a change notice naming every keypair that uses the
 * issuer, in the change's transaction, so every process re-reads their credentials.
 */
export class TrustedIssuerService {
  constructor(private readonly deps: { db: Knex; changes: ChangeFeed; clock: Clock }) {}

  list(reach?: KeypairReach): Promise<TrustedIssuer[]> {
    return listTrustedIssuers(this.deps.db, reach);
  }

  async get(id: string, reach?: KeypairReach): Promise<TrustedIssuer> {
    const found = await findTrustedIssuer(this.deps.db, id, reach);
    if (!found) throw notFound('Trusted issuer');
    return found;
  }

  async create(actor: Actor, input: TrustedIssuerInput): Promise<TrustedIssuer> {
    const now = this.deps.clock.now();
    const id = newId('trustedIssuer');
    const fields: TrustedIssuerFields = { issuer: input.issuer, name: input.name, jwksUri: input.jwksUri ?? null, jwks: input.jwks ?? null, audience: input.audience ?? null };
    await this.deps.db.transaction(async (trx) => {
      // An issuer trusted already, even by a concurrent create, is the unique index's 409 (store.ts).
      await insertTrustedIssuer(trx, id, fields, actor.id ?? 'system', now);
      await appendEvent(trx, actor, { action: 'trusted_issuer.created', targetType: 'trusted_issuer', targetId: id, accountId: null, environmentId: null, after: { ...fields } }, now);
    });
    return this.get(id);
  }

  /**
   * Applies `changes`. Setting `jwks` drops `jwksUri` and the reverse: the keys come
   * from one place. With `expectedVersion` (If-Match), another version is a 412.
   */
  async update(actor: Actor, id: string, changes: TrustedIssuerChanges, expectedVersion?: number): Promise<TrustedIssuer> {
    const now = this.deps.clock.now();
    await this.deps.db.transaction(async (trx) => {
      const before = await this.#locked(trx, id);
      if (expectedVersion !== undefined && before.version !== expectedVersion) {
        throw new KeygateError('precondition_failed', `The trusted issuer is at version ${before.version}, not ${expectedVersion}; fetch it again.`);
      }
      const after: TrustedIssuerFields = {
        issuer: changes.issuer ?? before.issuer,
        name: changes.name ?? before.name,
        jwksUri: changes.jwksUri !== undefined ? changes.jwksUri : changes.jwks != null ? null : before.jwksUri,
        jwks: changes.jwks !== undefined ? changes.jwks : changes.jwksUri != null ? null : before.jwks,
        audience: changes.audience !== undefined ? changes.audience : before.audience,
      };
      const changed = changedFields(before, after);
      // Nothing to change: no version bump, no event, no notice.
      if (changed.length === 0) return;
      await updateTrustedIssuerRow(trx, id, after, now);
      const clientIds = await keypairsUsing(trx, id);
      await appendEvent(trx, actor, {
        action: 'trusted_issuer.updated',
        targetType: 'trusted_issuer',
        targetId: id,
        accountId: null,
        environmentId: null,
        before: pick(before, changed),
        after: { ...pick(after, changed), ...(clientIds.length > 0 && { keypairsNotified: clientIds.length }) },
      }, now);
      // The keypairs using it reload, with the new configuration; the token path's key
      // sets are keyed by that configuration, so they start from the new keys. Its own id
      // too, for any process that caches the issuer itself.
      await this.deps.changes.publish(trx, [id, ...clientIds]);
    });
    return this.get(id);
  }

  /** Deletes it; while keypairs use it, a 409 saying how many, and nothing is deleted. */
  async delete(actor: Actor, id: string): Promise<void> {
    const now = this.deps.clock.now();
    await this.deps.db.transaction(async (trx) => {
      const before = await this.#locked(trx, id);
      const users = await keypairsUsing(trx, id);
      if (users.length > 0) {
        throw new KeygateError('conflict', `${users.length} keypair${users.length === 1 ? ' uses' : 's use'} this trusted issuer; delete ${users.length === 1 ? 'it' : 'them'} first.`);
      }
      await deleteTrustedIssuerRow(trx, id);
      await appendEvent(trx, actor, { action: 'trusted_issuer.deleted', targetType: 'trusted_issuer', targetId: id, accountId: null, environmentId: null, before: pick(before, FIELDS) }, now);
      await this.deps.changes.publish(trx, [id]);
    });
  }

  /** The row, locked for the change (see lockTrustedIssuer), or a 404. */
  async #locked(trx: Knex.Transaction, id: string): Promise<TrustedIssuer> {
    if (!(await lockTrustedIssuer(trx, id))) throw notFound('Trusted issuer');
    return (await findTrustedIssuer(trx, id))!;
  }
}
