import type { BuildRow, BuildStatus, PoolClient, Queryable } from '../../db/index.js';
import { ARTIFACT_LABEL, ROLE_LABEL } from '../../executor/index.js';

/*
 * A one-off build waits for its uploads in `pending`, held back from the build runner.
 *
 * claimStartableBuild claims any pending one-off build at once, whatever its plan: it skips only
 * builds with `abort_requested` set. So a build waiting for uploads is held with that flag, set in
 * the transaction that creates it and cleared by `start`. This is safe because nothing else reads
 * the flag of a pending one-off build: an abort of a pending build (requestBuildAbort) finishes
 * it as aborted at once, held or not, and the flag only means "abort the running build" once the
 * build has started, which a held build never has.
 */

/** A held build is waiting for its uploads: pending and not released to the build runner. */
export function isHeld(build: Pick<BuildRow, 'job_id' | 'status' | 'abort_requested'>): boolean {
  return build.job_id === null && build.status === 'pending' && build.abort_requested;
}

/**
 * The status to tell a client that may no longer upload or start: a released build is still
 * `pending` until the runner claims it, but for the client it is starting.
 */
export function statusForClient(build: Pick<BuildRow, 'job_id' | 'status' | 'abort_requested'>): string {
  return build.status === 'pending' && !isHeld(build) ? 'starting' : build.status;
}

/** Holds a build just created, in the transaction that created it (so it is never claimable). */
export async function holdBuild(client: PoolClient, buildId: number): Promise<void> {
  await client.query(
    `UPDATE builds SET abort_requested = true WHERE id = $1 AND job_id IS NULL AND status = 'pending'`,
    [buildId],
  );
}

/** Lets the build runner claim the build. */
export async function releaseBuild(client: PoolClient, buildId: number): Promise<void> {
  await client.query(
    `UPDATE builds SET abort_requested = false WHERE id = $1 AND job_id IS NULL AND status = 'pending'`,
    [buildId],
  );
}

export interface LockedBuild {
  job_id: number | null;
  status: BuildStatus;
  abort_requested: boolean;
  plan: unknown;
}

/**
 * Locks the build's row until the transaction ends: start and the end of an upload take it, so
 * an upload never completes after the build was released.
 */
export async function lockBuild(client: PoolClient, buildId: number): Promise<LockedBuild | null> {
  const { rows } = await client.query<LockedBuild>(
    'SELECT job_id, status, abort_requested, plan FROM builds WHERE id = $1 FOR NO KEY UPDATE',
    [buildId],
  );
  return rows[0] ?? null;
}

/** The inputs of each build whose upload completed (a `created` input volume). */
export async function uploadedInputs(
  db: Queryable,
  buildIds: readonly number[],
): Promise<Map<number, Set<string>>> {
  const uploaded = new Map<number, Set<string>>();
  if (buildIds.length === 0) return uploaded;
  const { rows } = await db.query<{ build_id: number; name: string }>({
    name: 'conveyor_api_uploaded_inputs',
    text: `
      SELECT build_id, labels ->> $3 AS name FROM volumes
      WHERE build_id = ANY($1::bigint[]) AND state = 'created' AND labels ->> $2 = 'input' AND labels ? $3`,
    values: [buildIds, ROLE_LABEL, ARTIFACT_LABEL],
  });
  for (const row of rows) {
    const names = uploaded.get(row.build_id) ?? new Set<string>();
    names.add(row.name);
    uploaded.set(row.build_id, names);
  }
  return uploaded;
}

/** The volumes of one input of a build (earlier or concurrent uploads of it), except `but`. */
export async function inputVolumes(
  db: Queryable,
  buildId: number,
  name: string,
  but?: string,
): Promise<Array<{ handle: string; state: string }>> {
  const { rows } = await db.query<{ handle: string; state: string }>(
    `SELECT handle, state FROM volumes
     WHERE build_id = $1 AND labels ->> $2 = 'input' AND labels ->> $3 = $4 AND handle IS DISTINCT FROM $5
     ORDER BY id`,
    [buildId, ROLE_LABEL, ARTIFACT_LABEL, name, but ?? null],
  );
  return rows;
}
