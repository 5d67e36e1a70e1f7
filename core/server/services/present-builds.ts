import type { Build } from '../../api/index.js';
import type { BuildRow, Queryable } from '../../db/index.js';
import { oneOffArtifacts } from './one-off-plan.js';
import { uploadedInputs } from './one-off-queries.js';
import { presentBuild } from './present.js';

/**
 * Builds as the API shows them, with `pending_inputs` for one-off builds that wait to start: the
 * declared inputs whose upload has not completed.
 */
export async function presentBuilds(db: Queryable, rows: readonly BuildRow[]): Promise<Build[]> {
  const waiting = rows.filter((row) => row.status === 'pending' && oneOffArtifacts(row) !== null);
  const uploaded = await uploadedInputs(
    db,
    waiting.map((row) => row.id),
  );
  return rows.map((row) => {
    const artifacts = row.status === 'pending' ? oneOffArtifacts(row) : null;
    if (artifacts === null) return presentBuild(row);
    const done = uploaded.get(row.id) ?? new Set<string>();
    return presentBuild(row, { pendingInputs: artifacts.inputs.filter((name) => !done.has(name)) });
  });
}

export async function presentOneBuild(db: Queryable, row: BuildRow): Promise<Build> {
  const [build] = await presentBuilds(db, [row]);
  return build as Build;
}
