import type { Queryable } from '../pool.js';
import { jobNotFound } from './not-found.js';
import type { BuildStatus, JobRow, JobSummaryRow } from './rows.js';
import { requestJobScheduling } from './schedule-requests.js';

const JOB_COLUMNS = `
  j.id, j.pipeline_id, j.name, j.config, j.active, j.paused, j.paused_by, j.paused_at, j.build_number,
  j.max_in_flight,
  ARRAY(SELECT g.serial_group FROM job_serial_groups g WHERE g.job_id = j.id ORDER BY g.serial_group)
    AS serial_groups,
  j.schedule_failure, j.schedule_requested_at, j.last_scheduled_at, j.created_at, j.updated_at`;

const BUILD_SUMMARY = `json_build_object(
  'id', b.id, 'name', b.name, 'status', b.status,
  'created_at', b.created_at, 'start_time', b.start_time, 'end_time', b.end_time)`;

/**
 * The pipeline's active jobs in config order, each with its latest finished build and its next
 * build (the oldest pending or started one), as the pipeline view shows them.
 */
export async function listJobs(db: Queryable, pipelineId: number): Promise<JobSummaryRow[]> {
  const { rows } = await db.query<JobRow & { finished_build: RawSummary; next_build: RawSummary }>({
    name: 'conveyor_list_jobs',
    text: `
      SELECT ${JOB_COLUMNS},
        (SELECT ${BUILD_SUMMARY} FROM builds b
         WHERE b.job_id = j.id AND b.status IN ('succeeded', 'failed', 'errored', 'aborted')
         ORDER BY b.id DESC LIMIT 1) AS finished_build,
        (SELECT ${BUILD_SUMMARY} FROM builds b
         WHERE b.job_id = j.id AND b.status IN ('pending', 'started')
         ORDER BY b.id LIMIT 1) AS next_build
      FROM jobs j
      WHERE j.pipeline_id = $1 AND j.active
      ORDER BY j.id`,
    values: [pipelineId],
  });
  return rows.map((row) => ({
    ...row,
    finished_build: summary(row.finished_build),
    next_build: summary(row.next_build),
  }));
}

type RawSummary = null | {
  id: number;
  name: string;
  status: BuildStatus;
  created_at: string;
  start_time: string | null;
  end_time: string | null;
};

/** json_build_object hands timestamps back as text; the row types promise Dates. */
function summary(raw: RawSummary): JobSummaryRow['finished_build'] {
  if (raw === null) return null;
  return {
    id: raw.id,
    name: raw.name,
    status: raw.status,
    created_at: new Date(raw.created_at),
    start_time: raw.start_time === null ? null : new Date(raw.start_time),
    end_time: raw.end_time === null ? null : new Date(raw.end_time),
  };
}

/** A job by id, active or not; null when there is none. */
export async function getJob(db: Queryable, jobId: number): Promise<JobRow | null> {
  const { rows } = await db.query<JobRow>(`SELECT ${JOB_COLUMNS} FROM jobs j WHERE j.id = $1`, [jobId]);
  return rows[0] ?? null;
}

/** A job of a pipeline by name, active or not; null when there is none. */
export async function getJobByName(db: Queryable, pipelineId: number, name: string): Promise<JobRow | null> {
  const { rows } = await db.query<JobRow>(
    `SELECT ${JOB_COLUMNS} FROM jobs j WHERE j.pipeline_id = $1 AND j.name = $2`,
    [pipelineId, name],
  );
  return rows[0] ?? null;
}

/** The id of a job in the config of a team's pipeline, by names: one round trip, no configs read. */
export async function findActiveJobId(
  db: Queryable,
  team: string,
  pipeline: string,
  job: string,
): Promise<number | null> {
  const { rows } = await db.query<{ id: number }>({
    name: 'conveyor_find_active_job_id',
    text: `
      SELECT j.id FROM jobs j
      JOIN pipelines p ON p.id = j.pipeline_id
      JOIN teams t ON t.id = p.team_id
      WHERE t.name = $1 AND p.name = $2 AND j.name = $3 AND j.active`,
    values: [team, pipeline, job],
  });
  return rows[0]?.id ?? null;
}

/** A paused job gets no new builds and starts none of its pending ones. */
export async function pauseJob(db: Queryable, jobId: number, by?: string): Promise<void> {
  const { rowCount } = await db.query(
    'UPDATE jobs SET paused = true, paused_by = $2, paused_at = now(), updated_at = now() WHERE id = $1',
    [jobId, by ?? null],
  );
  if (rowCount === 0) throw jobNotFound(jobId);
}

export async function unpauseJob(db: Queryable, jobId: number): Promise<void> {
  const { rowCount } = await db.query(
    'UPDATE jobs SET paused = false, paused_by = NULL, paused_at = NULL, updated_at = now() WHERE id = $1',
    [jobId],
  );
  if (rowCount === 0) throw jobNotFound(jobId);
  await requestJobScheduling(db, [jobId]);
}
