import { type BuildEventRecord, type BuildService, buildNotFound } from '../../api/index.js';
import { listBuilds, requestBuildAbort, type StoredBuildEvent } from '../../db/index.js';
import { subscribeToBuildEvents } from '../../events/index.js';
import type { ApiServicesDeps } from './deps.js';
import { requireBuild } from './lookups.js';
import { presentBuilds, presentOneBuild } from './present-builds.js';
import { translating } from './translate-error.js';

export function createBuildService(deps: ApiServicesDeps): BuildService {
  const { pool } = deps;
  const missing = (id: number) => ({ CC_E_SCHEDULER_BUILD_NOT_FOUND: () => buildNotFound(id) });

  return {
    async list(page) {
      const builds = await listBuilds(pool, page);
      return { ...builds, items: await presentBuilds(pool, builds.items) };
    },

    async get(id) {
      return presentOneBuild(pool, await requireBuild(pool, id));
    },

    async abort(id) {
      // A pending build ends aborted at once; a started one is flagged for its runner.
      const build = await translating(missing(id), () => requestBuildAbort(pool, id));
      return presentOneBuild(pool, build);
    },

    async events(id, { from, signal }) {
      // Subscribed through the database URL: one LISTEN connection for every stream of the
      // process, released with the last one, and reads on a small pool apart from the main one.
      const stored = await translating(missing(id), () =>
        subscribeToBuildEvents(deps.databaseUrl, id, from, { signal }),
      );
      return records(stored);
    },
  };
}

/**
 * The API's records of the stored events. Ending this iteration (return, break, or the signal)
 * ends the subscription's own, which releases its LISTEN.
 */
async function* records(stored: AsyncIterable<StoredBuildEvent>): AsyncGenerator<BuildEventRecord> {
  for await (const { id, event } of stored) yield { id, event };
}
