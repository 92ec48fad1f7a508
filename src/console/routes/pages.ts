import type { Context } from 'koa';

/**
 * Keyset pages for the console's lists, over the same domain calls as the admin API
 * (`after` for keypairs, `beforeSeq` for history). The domain pages forward only, so a
 * page's URL carries the cursors of the pages before it (`back`): "Previous" pops one,
 * "Next" pushes one, and both keep the page's filters.
 */
export interface PagePosition {
  /** This page starts after this cursor; undefined on the first page. */
  readonly after: string | undefined;
  /** The `after` of each earlier page but the first, oldest first. */
  readonly back: readonly string[];
}

/** Most pages a trail remembers: a URL stays short, and "Previous" past it goes to the first page. */
const MAX_TRAIL = 50;

/** The position a request names; a cursor that `valid` rejects (hand-edited) means the first page. */
export function positionOf(ctx: Context, valid: (cursor: string) => boolean): PagePosition {
  const after = typeof ctx.query.after === 'string' && valid(ctx.query.after) ? ctx.query.after : undefined;
  const trail = typeof ctx.query.back === 'string' && ctx.query.back !== '' ? ctx.query.back.split(',') : [];
  if (after === undefined || !trail.every(valid)) return { after, back: [] };
  return { after, back: trail.slice(-MAX_TRAIL) };
}

/** The links of a page: `base` with `filters` (empty values left out) and the position's cursors. */
export interface PageLinks {
  readonly previous: string | undefined;
  readonly next: string | undefined;
}

export function pageLinks(base: string, filters: Record<string, string>, position: PagePosition, nextCursor: string | undefined): PageLinks {
  const link = (after: string | undefined, back: readonly string[]) => {
    const query = new URLSearchParams(Object.entries(filters).filter(([, value]) => value !== ''));
    if (after !== undefined) query.set('after', after);
    if (back.length > 0) query.set('back', back.join(','));
    const text = query.toString();
    return text ? `${base}?${text}` : base;
  };
  const previous = position.after === undefined ? undefined : link(position.back.at(-1), position.back.slice(0, -1));
  const next = nextCursor === undefined ? undefined : link(nextCursor, position.after === undefined ? [] : [...position.back, position.after]);
  return { previous, next };
}

/** A keypair list's cursor: the last keypair's creation time (ms, as stored) and client_id. */
const KEYPAIR_CURSOR = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)~(kp_[0-9A-Za-z]{1,40})$/;

export const keypairCursor = {
  of: (keypair: { createdAt: Date; clientId: string }) => `${keypair.createdAt.toISOString()}~${keypair.clientId}`,
  valid: (cursor: string) => {
    const match = KEYPAIR_CURSOR.exec(cursor);
    return match !== null && !Number.isNaN(Date.parse(match[1]!));
  },
  parse: (cursor: string) => {
    const [, createdAt, clientId] = KEYPAIR_CURSOR.exec(cursor)!;
    return { createdAt: new Date(createdAt!), clientId: clientId! };
  },
};

/** A history cursor: the last event's insertion sequence number. */
export const eventCursor = {
  of: (event: { seq: number }) => String(event.seq),
  valid: (cursor: string) => /^\d{1,15}$/.test(cursor),
  parse: (cursor: string) => Number(cursor),
};
