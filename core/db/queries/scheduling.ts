import type { PoolClient, Queryable } from '../pool.js';
import type { Version } from './rows.js';

/** A job locked for scheduling, with what decides whether it may be scheduled at all. */
export interface SchedulableJobRow {
  id: number;
  pipeline_id: number;
  name: string;
  active: boolean;
  paused: boolean;
  pipeline_paused: boolean;
  pipeline_archived: boolean;
  disable_manual_trigger: boolean;
  /**
   * The request being answered, as Postgres prints it: a JS Date would drop the microseconds and
   * the job would look due again.
   */
  schedule_requested_at: string;
}

const JOB = `
  j.id, j.pipeline_id, j.name, j.active, j.paused, p.paused AS pipeline_paused,
  p.archived AS pipeline_archived,
  coalesce((j.config ->> 'disableManualTrigger')::boolean, false) AS disable_manual_trigger,
  j.schedule_requested_at::text AS schedule_requested_at`;

/**
 * The job that has waited longest for scheduling, locked without waiting so that schedulers in
 * several processes take different jobs. `$1`: jobs this pass already tried.
 */
const CLAIM_JOB = `
  SELECT ${JOB}
  FROM jobs j JOIN pipelines p ON p.id = j.pipeline_id
  WHERE j.active AND j.schedule_requested_at > j.last_scheduled_at
    AND NOT j.paused AND NOT p.paused AND NOT p.archived
    AND NOT (j.id = ANY($1::integer[]))
  ORDER BY j.schedule_requested_at
  LIMIT 1
  FOR NO KEY UPDATE OF j SKIP LOCKED`;

export async function claimJobToSchedule(
  client: PoolClient,
  skip: readonly number[],
): Promise<SchedulableJobRow | null> {
  const { rows } = await client.query<SchedulableJobRow>({
    name: 'conveyor_claim_job_to_schedule',
    text: CLAIM_JOB,
    values: [skip],
  });
  return rows[0] ?? null;
}

/** Locks one job for scheduling, waiting for a scheduler that holds it. */
export async function lockJobForScheduling(
  client: PoolClient,
  jobId: number,
): Promise<SchedulableJobRow | null> {
  const { rows } = await client.query<SchedulableJobRow>({
    name: 'conveyor_lock_job_to_schedule',
    text: `SELECT ${JOB} FROM jobs j JOIN pipelines p ON p.id = j.pipeline_id WHERE j.id = $1 FOR NO KEY UPDATE OF j`,
    values: [jobId],
  });
  return rows[0] ?? null;
}

/**
 * The job was scheduled for every request up to `requestedAt` (the one read when it was locked: a
 * request made since is newer and keeps the job due). `failure` says why inputs did not resolve.
 */
export async function markJobScheduled(
  client: PoolClient,
  jobId: number,
  requestedAt: string,
  failure: string | null,
): Promise<void> {
  await client.query({
    name: 'conveyor_mark_job_scheduled',
    text: `UPDATE jobs SET last_scheduled_at = greatest(last_scheduled_at, $2::timestamptz), schedule_failure = $3 WHERE id = $1`,
    values: [jobId, requestedAt, failure],
  });
}

/** One input of a job as the resolver needs it. */
export interface JobInputRow {
  name: string;
  resource_id: number;
  resource_name: string;
  trigger: boolean;
  version_mode: 'latest' | 'every' | 'pinned';
  /** The pin of the `get` step (`version: {...}`). */
  pinned_version: Version | null;
  /** The pin of the resource in the config (`version:` on the resource). */
  config_pinned_version: Version | null;
  /** The pin made through the API. */
  api_pinned_version_id: number | null;
  passed_job_ids: number[];
  version_scope: number;
}

export async function loadJobInputs(db: Queryable, jobId: number): Promise<JobInputRow[]> {
  const { rows } = await db.query<JobInputRow>({
    name: 'conveyor_load_job_inputs',
    text: `
      SELECT i.name, i.resource_id, r.name AS resource_name, i.trigger, i.version_mode, i.pinned_version,
        r.config -> 'pinnedVersion' AS config_pinned_version, r.pinned_version_id AS api_pinned_version_id,
        i.passed_job_ids, r.version_scope
      FROM job_inputs i JOIN resources r ON r.id = i.resource_id
      WHERE i.job_id = $1
      ORDER BY i.name`,
    values: [jobId],
  });
  return rows;
}

/** A version as the resolver orders it. */
export interface CandidateVersion {
  id: number;
  check_order: number;
}

/** The newest enabled version of the resource's current history. */
export async function latestVersion(
  db: Queryable,
  resourceId: number,
  scope: number,
): Promise<CandidateVersion | null> {
  const { rows } = await db.query<CandidateVersion>({
    name: 'conveyor_latest_version',
    text: `
      SELECT id, check_order FROM resource_versions
      WHERE resource_id = $1 AND scope = $2 AND enabled
      ORDER BY check_order DESC LIMIT 1`,
    values: [resourceId, scope],
  });
  return rows[0] ?? null;
}

/** The enabled version a pin names: equal to it, else the newest that contains it. */
export async function pinnedVersion(
  db: Queryable,
  resourceId: number,
  scope: number,
  pin: { version: Version } | { id: number },
): Promise<CandidateVersion | null> {
  const { rows } = await db.query<CandidateVersion>({
    name: 'conveyor_pinned_version',
    text: `
      SELECT id, check_order FROM resource_versions
      WHERE resource_id = $1 AND scope = $2 AND enabled
        AND ($3::bigint IS NULL OR id = $3)
        AND ($4::jsonb IS NULL OR version @> $4::jsonb)
      ORDER BY ($4::jsonb IS NOT NULL AND version_digest = conveyor_version_digest($4::jsonb)) DESC,
        check_order DESC
      LIMIT 1`,
    values: [
      resourceId,
      scope,
      'id' in pin ? pin.id : null,
      'version' in pin ? JSON.stringify(pin.version) : null,
    ],
  });
  return rows[0] ?? null;
}

/**
 * The check order of the newest version of the resource any build of the job has used (for
 * `version: every`), or null when none has.
 */
export async function lastUsedCheckOrder(
  db: Queryable,
  jobId: number,
  resourceId: number,
  scope: number,
): Promise<number | null> {
  const { rows } = await db.query<{ check_order: number | null }>({
    name: 'conveyor_last_used_check_order',
    text: `
      SELECT max(v.check_order) AS check_order
      FROM build_inputs i JOIN resource_versions v ON v.id = i.resource_version_id
      WHERE i.job_id = $1 AND v.resource_id = $2 AND v.scope = $3`,
    values: [jobId, resourceId, scope],
  });
  return rows[0]?.check_order ?? null;
}

/**
 * For `version: every` without `passed:`: the oldest enabled version newer than `after`, else the
 * newest one at or below it (already used: it triggers nothing).
 */
export async function nextEveryVersion(
  db: Queryable,
  resourceId: number,
  scope: number,
  after: number,
): Promise<CandidateVersion | null> {
  const { rows } = await db.query<CandidateVersion>({
    name: 'conveyor_next_every_version',
    text: `
      (SELECT id, check_order FROM resource_versions
       WHERE resource_id = $1 AND scope = $2 AND enabled AND check_order > $3
       ORDER BY check_order LIMIT 1)
      UNION ALL
      (SELECT id, check_order FROM resource_versions
       WHERE resource_id = $1 AND scope = $2 AND enabled AND check_order <= $3
       ORDER BY check_order DESC LIMIT 1)`,
    values: [resourceId, scope, after],
  });
  return rows[0] ?? null;
}

/** A version that passed a job: some succeeded build of it had the version as input or output. */
export interface PassedVersionRow {
  job_id: number;
  build_id: number;
  resource_id: number;
  version_id: number;
  check_order: number;
}

/**
 * How far back `passed:` looks: the newest succeeded builds of each upstream job. Older builds'
 * versions have long been superseded, and the resolver holds what it reads in memory.
 */
export const PASSED_BUILDS_LOOKBACK = 1000;

const PASSED_VERSIONS = `
  SELECT b.job_id, b.id AS build_id, v.resource_id, v.id AS version_id, v.check_order
  FROM unnest($1::integer[]) AS upstream (job_id)
  CROSS JOIN LATERAL (
    SELECT id, job_id FROM builds
    WHERE job_id = upstream.job_id AND status = 'succeeded'
    ORDER BY id DESC LIMIT $3
  ) AS b
  CROSS JOIN LATERAL (
    SELECT resource_version_id FROM build_inputs WHERE build_id = b.id
    UNION
    SELECT resource_version_id FROM build_outputs WHERE build_id = b.id
  ) AS used
  JOIN resource_versions v ON v.id = used.resource_version_id AND v.enabled
  JOIN resources r ON r.id = v.resource_id AND r.version_scope = v.scope
  WHERE v.resource_id = ANY($2::integer[])
  ORDER BY b.id DESC`;

/** The enabled versions of these resources that passed these jobs, newest build first. */
export async function loadPassedVersions(
  db: Queryable,
  jobIds: readonly number[],
  resourceIds: readonly number[],
): Promise<PassedVersionRow[]> {
  if (jobIds.length === 0) return [];
  const { rows } = await db.query<PassedVersionRow>({
    name: 'conveyor_load_passed_versions',
    text: PASSED_VERSIONS,
    values: [jobIds, resourceIds, PASSED_BUILDS_LOOKBACK],
  });
  return rows;
}

/**
 * Which (input name, version) pairs builds of the job other than `exceptBuildId` already used:
 * the rest are first occurrences, which is what triggers a build.
 */
export async function usedInputs(
  db: Queryable,
  jobId: number,
  inputs: ReadonlyArray<{ name: string; resourceVersionId: number }>,
  exceptBuildId: number | null,
): Promise<Set<string>> {
  if (inputs.length === 0) return new Set();
  const { rows } = await db.query<{ name: string; resource_version_id: number }>({
    name: 'conveyor_used_inputs',
    text: `
      SELECT DISTINCT i.name, i.resource_version_id
      FROM build_inputs i
      JOIN unnest($2::text[], $3::bigint[]) AS x (name, resource_version_id)
        ON i.name = x.name AND i.resource_version_id = x.resource_version_id
      WHERE i.job_id = $1 AND i.build_id IS DISTINCT FROM $4::bigint`,
    values: [
      jobId,
      inputs.map((input) => input.name),
      inputs.map((input) => input.resourceVersionId),
      exceptBuildId,
    ],
  });
  return new Set(rows.map((row) => inputKey(row.name, row.resource_version_id)));
}

export function inputKey(name: string, versionId: number): string {
  return `${versionId}:${name}`;
}

/**
 * The job's pending build that the scheduler made on its own (not triggered by hand, not a rerun)
 * and no one has started: newer versions can replace its inputs instead of queueing another build.
 */
export async function pendingScheduledBuild(db: Queryable, jobId: number): Promise<number | null> {
  const { rows } = await db.query<{ id: number }>({
    name: 'conveyor_pending_scheduled_build',
    text: `
      SELECT id FROM builds
      WHERE job_id = $1 AND status = 'pending' AND NOT manually_triggered AND rerun_of IS NULL
        AND NOT abort_requested
      ORDER BY id DESC LIMIT 1`,
    values: [jobId],
  });
  return rows[0]?.id ?? null;
}
