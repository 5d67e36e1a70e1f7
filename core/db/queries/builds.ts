import { ConveyorError } from '../../errors/index.js';
import type { Pool, PoolClient, Queryable } from '../pool.js';
import { BUILD_COLUMNS, BUILD_FROM } from './build-columns.js';
import { insertBuildEventBatches, insertBuildEvents, statusEvent } from './build-events.js';
import { buildNotFound, jobNotFound, teamNotFound } from './not-found.js';
import { queryPage } from './paging.js';
import {
  type BuildRow,
  type FinishedBuildStatus,
  isFinishedStatus,
  type Page,
  type PageOptions,
} from './rows.js';
import { requestSchedulingAfterBuild, requestSchedulingAfterBuilds } from './schedule-requests.js';
import { withTransaction } from './transaction.js';

/** The NOTIFY channel on which an abort of a started build is announced; the payload is the build id. */
export const BUILD_ABORTS_CHANNEL = 'conveyor_build_aborts';

export async function getBuild(db: Queryable, buildId: number): Promise<BuildRow | null> {
  const { rows } = await db.query<BuildRow>({
    name: 'conveyor_get_build',
    text: `SELECT ${BUILD_COLUMNS} FROM ${BUILD_FROM} WHERE b.id = $1`,
    values: [buildId],
  });
  return rows[0] ?? null;
}

/** Several builds by id, in the order of `buildIds` (missing ones left out). */
export async function getBuilds(db: Queryable, buildIds: readonly number[]): Promise<BuildRow[]> {
  const { rows } = await db.query<BuildRow>({
    name: 'conveyor_get_builds',
    text: `SELECT ${BUILD_COLUMNS} FROM ${BUILD_FROM} WHERE b.id = ANY($1::bigint[])`,
    values: [buildIds],
  });
  const byId = new Map(rows.map((row) => [row.id, row]));
  return buildIds.flatMap((id) => byId.get(id) ?? []);
}

/** A job's build by name (`4`, `4.1`). */
export async function getJobBuild(db: Queryable, jobId: number, name: string): Promise<BuildRow | null> {
  const { rows } = await db.query<BuildRow>(
    `SELECT ${BUILD_COLUMNS} FROM ${BUILD_FROM} WHERE b.job_id = $1 AND b.name = $2`,
    [jobId, name],
  );
  return rows[0] ?? null;
}

/** A job's builds, newest first; the cursor is the build id. */
export async function listJobBuilds(
  db: Queryable,
  jobId: number,
  options: PageOptions = {},
): Promise<Page<BuildRow>> {
  return listWhere(db, 'b.job_id = $1', jobId, options);
}

/** A pipeline's builds, newest first. */
export async function listPipelineBuilds(
  db: Queryable,
  pipelineId: number,
  options: PageOptions = {},
): Promise<Page<BuildRow>> {
  return listWhere(db, 'b.pipeline_id = $1', pipelineId, options);
}

/** Every build, or one team's, newest first (one-off builds included). */
export async function listBuilds(
  db: Queryable,
  options: PageOptions & { team?: string | undefined } = {},
): Promise<Page<BuildRow>> {
  return listWhere(db, '($1::text IS NULL OR t.name = $1)', options.team ?? null, options);
}

async function listWhere(
  db: Queryable,
  where: string,
  key: number | string | null,
  options: PageOptions,
): Promise<Page<BuildRow>> {
  return queryPage<BuildRow & Record<string, unknown>>(
    db,
    { select: BUILD_COLUMNS, from: BUILD_FROM, where, params: [key], key: 'b.id' },
    options,
    (row) => row.id,
  );
}

export interface OneOffBuildInput {
  team: string;
  /** The compiled build plan. */
  plan: unknown;
  /** Who asked for it. */
  createdBy?: string | undefined;
}

/** A one-off build (`cc execute`): no pipeline, no job, named by its id. */
export async function createOneOffBuild(db: Queryable, input: OneOffBuildInput): Promise<BuildRow> {
  const { rows } = await db.query<{ id: number }>(
    `WITH next AS (SELECT nextval(pg_get_serial_sequence('builds', 'id')) AS id)
     INSERT INTO builds (id, team_id, name, plan, manually_triggered, created_by)
     OVERRIDING SYSTEM VALUE
     SELECT next.id, t.id, next.id::text, $2, true, $3 FROM next, teams t WHERE t.name = $1
     RETURNING id`,
    [input.team, JSON.stringify(input.plan ?? null), input.createdBy ?? null],
  );
  const id = rows[0]?.id;
  if (id === undefined) throw teamNotFound(input.team);
  return mustGet(db, id);
}

/** One resolved input of a job build. */
export interface BuildInputToSave {
  name: string;
  resourceVersionId: number;
}

export interface JobBuildInput {
  jobId: number;
  inputs: readonly BuildInputToSave[];
  /** Who triggered it by hand; absent for builds the scheduler makes. */
  createdBy?: string | undefined;
  manuallyTriggered?: boolean | undefined;
}

/**
 * Creates a pending build of a job, named by the job's next build number, with its inputs. Runs in
 * the caller's transaction; the job row stays locked until it ends, so numbers never repeat.
 */
export async function createJobBuild(client: PoolClient, input: JobBuildInput): Promise<BuildRow> {
  const { rows } = await client.query<{ id: number }>({
    name: 'conveyor_create_job_build',
    text: `
      WITH job AS (
        UPDATE jobs SET build_number = build_number + 1 WHERE id = $1
        RETURNING id, pipeline_id, build_number
      )
      INSERT INTO builds (team_id, pipeline_id, job_id, name, manually_triggered, created_by)
      SELECT p.team_id, job.pipeline_id, job.id, job.build_number::text, $2, $3
      FROM job JOIN pipelines p ON p.id = job.pipeline_id
      RETURNING id`,
    values: [input.jobId, input.manuallyTriggered ?? false, input.createdBy ?? null],
  });
  const id = rows[0]?.id;
  if (id === undefined) throw jobNotFound(input.jobId);
  await insertBuildInputs(client, id, input.jobId, input.inputs);
  return mustGet(client, id);
}

/**
 * An input is a first occurrence when no other build of the job had that version as that input:
 * what decides whether a new version triggers a build.
 */
const INSERT_INPUTS = `
  INSERT INTO build_inputs (build_id, job_id, name, resource_version_id, first_occurrence)
  SELECT $1, $2, x.name, x.resource_version_id,
    NOT EXISTS (
      SELECT 1 FROM build_inputs used
      WHERE used.job_id = $2 AND used.name = x.name AND used.resource_version_id = x.resource_version_id
        AND used.build_id <> $1
    )
  FROM unnest($3::text[], $4::bigint[]) AS x (name, resource_version_id)`;

async function insertBuildInputs(
  client: PoolClient,
  buildId: number,
  jobId: number,
  inputs: readonly BuildInputToSave[],
): Promise<void> {
  if (inputs.length === 0) return;
  await client.query({
    name: 'conveyor_insert_build_inputs',
    text: INSERT_INPUTS,
    values: [
      buildId,
      jobId,
      inputs.map((input) => input.name),
      inputs.map((input) => input.resourceVersionId),
    ],
  });
}

/**
 * Gives a pending build new inputs (the scheduler found newer versions before it started), in the
 * caller's transaction. Resolves false when the build is no longer pending, or when someone holds
 * it (a claimer starting it, an abort): the caller then makes a new build. Never waiting here keeps
 * the scheduler, which holds the job row, from ever waiting on a build row.
 */
export async function replacePendingBuildInputs(
  client: PoolClient,
  buildId: number,
  jobId: number,
  inputs: readonly BuildInputToSave[],
): Promise<boolean> {
  const { rows } = await client.query<{ id: number }>(
    `SELECT id FROM builds WHERE id = $1 AND status = 'pending' AND NOT abort_requested
     FOR NO KEY UPDATE SKIP LOCKED`,
    [buildId],
  );
  if (rows.length === 0) return false;
  await client.query('DELETE FROM build_inputs WHERE build_id = $1', [buildId]);
  await insertBuildInputs(client, buildId, jobId, inputs);
  return true;
}

export interface HeartbeatResult {
  /** Someone asked to abort the build: the executor should abort it and finish it as aborted. */
  abortRequested: boolean;
}

/**
 * Extends the lease of a started build held by `owner`. Resolves null when the lease is lost: the
 * build was recovered (marked errored) or finished, or another owner holds it; stop running it.
 */
export async function heartbeatBuild(
  db: Queryable,
  buildId: number,
  owner: string,
  leaseMs: number,
): Promise<HeartbeatResult | null> {
  checkLease(leaseMs);
  const { rows } = await db.query<{ abort_requested: boolean }>({
    name: 'conveyor_heartbeat_build',
    text: `
      UPDATE builds SET lease_expires_at = now() + $3 * interval '1 millisecond'
      WHERE id = $1 AND status = 'started' AND lease_owner = $2
      RETURNING abort_requested`,
    values: [buildId, owner, leaseMs],
  });
  const row = rows[0];
  return row === undefined ? null : { abortRequested: row.abort_requested };
}

export function checkLease(leaseMs: number): void {
  if (!Number.isInteger(leaseMs) || leaseMs <= 0) throw new TypeError('leaseMs must be a positive integer');
}

export interface FinishBuildOptions {
  /** The lease owner finishing the build; when given, a build it no longer holds is refused. */
  owner?: string | undefined;
}

/** One build to finish, for finishBuilds. */
export interface BuildToFinish extends FinishBuildOptions {
  buildId: number;
  status: FinishedBuildStatus;
}

/**
 * Records the build's final status and end time, releases its lease and appends the final
 * `status` event (so the executor appends none of its own), all in one transaction; asks the
 * scheduler to look at the job, and at the jobs downstream when it succeeded. A finished build
 * cannot be finished again (CC_E_SCHEDULER_BUILD_FINISHED).
 */
export async function finishBuild(
  pool: Pool,
  buildId: number,
  status: FinishedBuildStatus,
  options: FinishBuildOptions = {},
): Promise<BuildRow> {
  const [build] = await finishBuilds(pool, [{ ...options, buildId, status }]);
  if (build === undefined) throw buildNotFound(buildId);
  return build;
}

/**
 * Finishes several builds in one transaction, as finishBuild does each; all or none: a build that
 * cannot finish (finished already, lease lost, gone) fails the whole call.
 */
export async function finishBuilds(pool: Pool, builds: readonly BuildToFinish[]): Promise<BuildRow[]> {
  for (const { status } of builds) {
    if (!isFinishedStatus(status)) {
      throw new TypeError(
        `status must be one of succeeded, failed, errored, aborted (got ${String(status)})`,
      );
    }
  }
  const ids = builds.map((b) => b.buildId);
  if (new Set(ids).size !== ids.length) throw new TypeError('each build may be finished once per call');
  if (builds.length === 0) return [];
  return withTransaction(pool, async (client) => {
    const locked = await lockBuilds(client, ids);
    for (const { buildId, status, owner } of builds) {
      const build = locked.get(buildId);
      if (build === undefined) throw buildNotFound(buildId);
      if (isFinishedStatus(build.status)) {
        throw new ConveyorError(
          'CC_E_SCHEDULER_BUILD_FINISHED',
          `build ${buildId} already finished as ${build.status}; it cannot finish again as ${status}`,
          { details: { buildId, status: build.status } },
        );
      }
      if (owner !== undefined && build.lease_owner !== owner) throw leaseLost(buildId, owner);
    }
    await client.query({
      name: 'conveyor_finish_builds',
      text: `
        UPDATE builds SET status = f.status, end_time = now(), lease_owner = NULL, lease_expires_at = NULL
        FROM unnest($1::bigint[], $2::text[]) AS f (id, status)
        WHERE builds.id = f.id`,
      values: [ids, builds.map((b) => b.status)],
    });
    await insertBuildEventBatches(
      client,
      builds.map(({ buildId, status }) => ({ buildId, events: [statusEvent(status)] })),
    );
    await requestSchedulingAfterBuilds(
      client,
      builds.flatMap(({ buildId, status }) => {
        const jobId = locked.get(buildId)?.job_id;
        return jobId == null ? [] : [{ jobId, succeeded: status === 'succeeded' }];
      }),
    );
    return getBuilds(client, ids);
  });
}

export function leaseLost(buildId: number, owner: string): ConveyorError {
  return new ConveyorError(
    'CC_E_SCHEDULER_LEASE_LOST',
    `${owner} no longer holds the lease of build ${buildId}: its lease ran out or another process runs it; stop running it`,
    { details: { buildId, owner } },
  );
}

/**
 * Aborts a build: a pending one becomes aborted at once (with its final status event); a started
 * one is flagged, announced on BUILD_ABORTS_CHANNEL and left to its executor, which sees the flag
 * on its next heartbeat. A finished build is left as it is. Resolves the build as it is now.
 */
export async function requestBuildAbort(pool: Pool, buildId: number): Promise<BuildRow> {
  return withTransaction(pool, async (client) => {
    const build = await lockBuild(client, buildId);
    if (build.status === 'pending') {
      await client.query(
        `UPDATE builds SET status = 'aborted', abort_requested = true, end_time = now() WHERE id = $1`,
        [buildId],
      );
      await insertBuildEvents(client, buildId, [statusEvent('aborted')]);
      if (build.job_id !== null) await requestSchedulingAfterBuild(client, build.job_id, false);
    } else if (build.status === 'started' && !build.abort_requested) {
      await client.query('UPDATE builds SET abort_requested = true WHERE id = $1', [buildId]);
      await client.query(`SELECT pg_notify('${BUILD_ABORTS_CHANNEL}', $1::text)`, [buildId]);
    }
    return mustGet(client, buildId);
  });
}

/**
 * Reruns a job build: a new pending build of the job with the same input versions, named after
 * the original (`4.1`, `4.2`; a rerun of a rerun counts under the original), as Concourse does.
 */
export async function rerunBuild(
  pool: Pool,
  buildId: number,
  options: { createdBy?: string | undefined } = {},
): Promise<BuildRow> {
  return withTransaction(pool, async (client) => {
    const build = await getBuild(client, buildId);
    if (build === null) throw buildNotFound(buildId);
    if (build.job_id === null) {
      throw new ConveyorError(
        'CC_E_SCHEDULER_BUILD_NOT_RERUNNABLE',
        `build ${buildId} is a one-off build: only builds of a job can be rerun`,
        { details: { buildId } },
      );
    }
    const originalId = build.rerun_of ?? build.id;
    // The job row lock serialises rerun numbering with every other build creation of the job.
    await client.query('SELECT 1 FROM jobs WHERE id = $1 FOR NO KEY UPDATE', [build.job_id]);
    const { rows } = await client.query<{ id: number }>(
      `INSERT INTO builds (team_id, pipeline_id, job_id, name, manually_triggered, rerun_of, created_by)
       SELECT o.team_id, o.pipeline_id, o.job_id,
         o.name || '.' || (SELECT count(*) + 1 FROM builds r WHERE r.rerun_of = o.id)::text, true, o.id, $2
       FROM builds o WHERE o.id = $1
       RETURNING id`,
      [originalId, options.createdBy ?? null],
    );
    const id = rows[0]?.id;
    if (id === undefined) throw buildNotFound(originalId);
    await client.query(
      `INSERT INTO build_inputs (build_id, job_id, name, resource_version_id, first_occurrence)
       SELECT $1, job_id, name, resource_version_id, false FROM build_inputs WHERE build_id = $2`,
      [id, buildId],
    );
    return mustGet(client, id);
  });
}

interface LockedBuild {
  status: string;
  job_id: number | null;
  lease_owner: string | null;
  abort_requested: boolean;
}

async function lockBuild(client: PoolClient, buildId: number): Promise<LockedBuild> {
  const { rows } = await client.query<LockedBuild>({
    name: 'conveyor_lock_build',
    text: 'SELECT status, job_id, lease_owner, abort_requested FROM builds WHERE id = $1 FOR NO KEY UPDATE',
    values: [buildId],
  });
  const build = rows[0];
  if (build === undefined) throw buildNotFound(buildId);
  return build;
}

/** Locks builds in id order (so two callers never wait for each other in a cycle). */
async function lockBuilds(
  client: PoolClient,
  buildIds: readonly number[],
): Promise<Map<number, LockedBuild>> {
  const { rows } = await client.query<LockedBuild & { id: number }>({
    name: 'conveyor_lock_builds',
    text: `
      SELECT id, status, job_id, lease_owner, abort_requested FROM builds
      WHERE id = ANY($1::bigint[]) ORDER BY id FOR NO KEY UPDATE`,
    values: [buildIds],
  });
  return new Map(rows.map((row) => [row.id, row]));
}

async function mustGet(db: Queryable, buildId: number): Promise<BuildRow> {
  const build = await getBuild(db, buildId);
  if (build === null) throw buildNotFound(buildId);
  return build;
}
