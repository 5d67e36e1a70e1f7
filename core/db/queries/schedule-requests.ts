import type { Queryable } from '../pool.js';

/**
 * A job is looked at again when schedule_requested_at > last_scheduled_at. A request always moves
 * the timestamp forward (even past a clock that stepped back), and a scheduler marks a job done
 * with the request time it read, so a request made while the job is being scheduled is never lost.
 */
const REQUEST = `schedule_requested_at = GREATEST(clock_timestamp(), schedule_requested_at + interval '1 microsecond')`;

/** Asks the scheduler to look at these jobs again. */
export async function requestJobScheduling(db: Queryable, jobIds: readonly number[]): Promise<void> {
  if (jobIds.length === 0) return;
  await db.query({
    name: 'conveyor_request_jobs',
    text: `UPDATE jobs SET ${REQUEST} WHERE id = ANY($1::integer[]) AND active`,
    values: [jobIds],
  });
}

/** Asks the scheduler to look at every job of a pipeline (unpaused, reconfigured). */
export async function requestPipelineScheduling(db: Queryable, pipelineId: number): Promise<void> {
  await db.query({
    name: 'conveyor_request_pipeline_jobs',
    text: `UPDATE jobs SET ${REQUEST} WHERE pipeline_id = $1 AND active`,
    values: [pipelineId],
  });
}

/**
 * After a resource's versions changed (new, moved, pinned, enabled or disabled). With
 * `triggersOnly`, only jobs that a new version can trigger; otherwise every job that gets it.
 */
export async function requestResourceScheduling(
  db: Queryable,
  resourceId: number,
  triggersOnly: boolean,
): Promise<void> {
  await db.query({
    name: 'conveyor_request_resource_jobs',
    text: `
      UPDATE jobs SET ${REQUEST}
      WHERE active AND id IN (
        SELECT job_id FROM job_inputs WHERE resource_id = $1 AND (trigger OR NOT $2::boolean)
      )`,
    values: [resourceId, triggersOnly],
  });
}

/**
 * After builds of jobs finished: each job itself (its next pending build, its next `every`
 * version) and, for those that succeeded, the jobs downstream of them through `passed:`.
 */
export async function requestSchedulingAfterBuilds(
  db: Queryable,
  finished: ReadonlyArray<{ jobId: number; succeeded: boolean }>,
): Promise<void> {
  if (finished.length === 0) return;
  await db.query({
    name: 'conveyor_request_after_builds',
    text: `
      UPDATE jobs SET ${REQUEST}
      WHERE active AND (
        id = ANY($1::integer[])
        OR id IN (SELECT job_id FROM job_inputs WHERE passed_job_ids && $2::integer[])
      )`,
    values: [finished.map((f) => f.jobId), finished.filter((f) => f.succeeded).map((f) => f.jobId)],
  });
}

/** After a build of a job finished, as requestSchedulingAfterBuilds. */
export async function requestSchedulingAfterBuild(
  db: Queryable,
  jobId: number,
  succeeded: boolean,
): Promise<void> {
  await requestSchedulingAfterBuilds(db, [{ jobId, succeeded }]);
}
