import type { Queryable } from '../pool.js';
import type { Page, PageOptions } from './rows.js';

const DEFAULT_PAGE = 50;
const MAX_PAGE = 1000;

export interface PagedQuery {
  /** The SELECT list. */
  select: string;
  from: string;
  /** The filter, with parameters $1..$n taken from `params`. */
  where: string;
  params: readonly unknown[];
  /** The ordering key (unique within the list); newest is highest. */
  key: string;
}

/**
 * One page of a list ordered by `key`, newest first: fetches one row more than asked to learn
 * whether more lies beyond, and asks once more whether anything lies on the other side.
 */
export async function queryPage<T extends Record<string, unknown>>(
  db: Queryable,
  query: PagedQuery,
  options: PageOptions,
  keyOf: (row: T) => number,
  cursor: { before: number | null; since: number | null } = {
    before: options.before ?? null,
    since: options.since ?? null,
  },
): Promise<Page<T>> {
  const limit = checkPage(options);
  const n = query.params.length;
  const forward = cursor.since !== null;
  const { rows } = await db.query<T>(
    `SELECT ${query.select} FROM ${query.from}
     WHERE (${query.where})
       AND ${forward ? `${query.key} > $${n + 1}` : `($${n + 1}::bigint IS NULL OR ${query.key} < $${n + 1})`}
     ORDER BY ${query.key} ${forward ? 'ASC' : 'DESC'}
     LIMIT $${n + 2}`,
    [...query.params, forward ? cursor.since : cursor.before, limit + 1],
  );
  const more = rows.length > limit;
  const items = rows.slice(0, limit);
  if (forward) items.reverse();

  // The far side: beyond the edge of the page opposite to the one the query walked towards.
  const edge = forward ? items.at(-1) : items[0];
  const from = edge === undefined ? (forward ? cursor.since : cursor.before) : keyOf(edge);
  let beyond = false;
  if (from !== null) {
    // An empty page counts the cursor's own item as beyond it.
    const op = (forward ? '<' : '>') + (edge === undefined ? '=' : '');
    const { rows: found } = await db.query<{ found: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM ${query.from} WHERE (${query.where}) AND ${query.key} ${op} $${n + 1}) AS found`,
      [...query.params, from],
    );
    beyond = found[0]?.found === true;
  }
  return forward ? { items, hasOlder: beyond, hasNewer: more } : { items, hasOlder: more, hasNewer: beyond };
}

export function checkPage(options: PageOptions): number {
  const limit = options.limit ?? DEFAULT_PAGE;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) {
    throw new TypeError(`options.limit must be an integer from 1 to ${MAX_PAGE}`);
  }
  for (const key of ['before', 'since'] as const) {
    const value = options[key];
    if (value !== undefined && !Number.isSafeInteger(value))
      throw new TypeError(`options.${key} must be an integer`);
  }
  if (options.before !== undefined && options.since !== undefined) {
    throw new TypeError('options.before and options.since cannot both be set');
  }
  return limit;
}
