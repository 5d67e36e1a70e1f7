import { type Queryable, type StoredBuildEvent, selectBuildEvents } from '../db/index.js';

export type { StoredBuildEvent };

const MAX_READ = 10_000;

/**
 * The build's events with ids above `afterEventId` (-1 reads from the start), oldest first, at
 * most `limit` of them.
 */
export async function readEvents(
  db: Queryable,
  buildId: number,
  afterEventId: number,
  limit = 1000,
): Promise<StoredBuildEvent[]> {
  if (!Number.isSafeInteger(afterEventId)) throw new TypeError('afterEventId must be an integer');
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_READ) {
    throw new TypeError(`limit must be an integer from 1 to ${MAX_READ}`);
  }
  return selectBuildEvents(db, buildId, afterEventId, limit);
}
