import { type AppendedEvents, groupCommit, insertBuildEventBatches, type Pool } from '../db/index.js';
import type { BuildEvent } from './build-event.generated.js';

/** Appends build events for many builds at once: the build runner's one path to the event table. */
export interface BuildEventWriter {
  /**
   * Appends events to a build's stream, as appendEvents does; resolves once they are committed
   * and announced. Appends to one build keep the order of the calls.
   */
  append(buildId: number, events: readonly BuildEvent[]): Promise<AppendedEvents | null>;
}

/**
 * A writer that group-commits: the events of every build that appends while a write is in flight
 * go together in the next statement, so a busy server stores the events of dozens of builds in one
 * round trip and one commit, and an idle one writes at once.
 */
export function createBuildEventWriter(pool: Pool): BuildEventWriter {
  const write = groupCommit((batches: ReadonlyArray<{ buildId: number; events: readonly BuildEvent[] }>) =>
    insertBuildEventBatches(pool, batches),
  );
  return {
    append(buildId, events) {
      if (!Number.isSafeInteger(buildId)) return Promise.reject(new TypeError('buildId must be an integer'));
      if (events.length === 0) return Promise.resolve(null);
      return write({ buildId, events });
    },
  };
}
