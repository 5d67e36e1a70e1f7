import { type AppendedEvents, insertBuildEvents, type Queryable } from '../db/index.js';
import type { BuildEvent } from './build-event.generated.js';

export type { AppendedEvents };

/**
 * Appends events to a build's stream under consecutive ids (0, 1, 2, … per build, whatever else
 * appends at the same time) and announces them on BUILD_EVENTS_CHANNEL when the write commits.
 * Events must already be redacted: they are stored and served as given. On a client inside a
 * transaction, other appenders to the build wait until that transaction ends.
 */
export async function appendEvents(
  db: Queryable,
  buildId: number,
  events: readonly BuildEvent[],
): Promise<AppendedEvents | null> {
  if (!Number.isSafeInteger(buildId)) throw new TypeError('buildId must be an integer');
  return insertBuildEvents(db, buildId, events);
}
