import type { JobModel, PipelineModel, ResourceModel } from '../../config/pipeline-model.js';
import { ConveyorError } from '../../errors/index.js';
import type { Pool, PoolClient } from '../pool.js';
import { teamNotFound } from './not-found.js';
import { withTransaction } from './transaction.js';

export interface SavePipelineInput {
  team: string;
  name: string;
  /** The validated pipeline model. */
  model: PipelineModel;
  /** The configuration as the user wrote it, shown again by get-pipeline. */
  configText?: string | undefined;
  /**
   * The config version the caller read (optimistic concurrency): the save fails with
   * CC_E_SCHEDULER_PIPELINE_CONFLICT when the pipeline has moved on since, or when it does not exist.
   * Absent: save whatever the current version is.
   */
  expectedVersion?: number | undefined;
}

export interface SavePipelineResult {
  pipelineId: number;
  /** The pipeline did not exist before (it starts paused). */
  created: boolean;
  /** The new config version. */
  version: number;
}

/**
 * set-pipeline: stores the model and brings the pipeline's jobs, resources and scheduler tables in
 * line with it, in one transaction.
 *
 * - A new pipeline starts paused; an archived one comes back, paused.
 * - Jobs gone from the config are deactivated, never deleted, so their builds stay viewable; a
 *   job with `old_name` takes over the old job (and its builds) under the new name.
 * - Resources gone from the config are deactivated; one with `old_name` takes over the old one.
 *   A resource whose type and source stay the same keeps its versions; when either changes it starts a new, empty history (a new version
 *   scope), its API pin is dropped and it is checked right away.
 * - Every job is asked to be scheduled again.
 */
export async function savePipeline(pool: Pool, input: SavePipelineInput): Promise<SavePipelineResult> {
  checkModel(input.model);
  return withTransaction(pool, async (client) => {
    const { rows: teams } = await client.query<{ id: number }>('SELECT id FROM teams WHERE name = $1', [
      input.team,
    ]);
    const teamId = teams[0]?.id;
    if (teamId === undefined) throw teamNotFound(input.team);

    const { pipelineId, created, version } = await upsertPipeline(client, teamId, input);
    await saveResources(client, pipelineId, input.model.resources);
    await saveJobs(client, pipelineId, input.model.jobs);
    return { pipelineId, created, version };
  });
}

/** The model comes from the validator; these are the cross-references the tables rely on. */
function checkModel(model: PipelineModel): void {
  const resources = new Set(model.resources.map((resource) => resource.name));
  const jobs = new Set(model.jobs.map((job) => job.name));
  for (const job of model.jobs) {
    for (const input of job.inputs) {
      if (!resources.has(input.resource)) {
        throw inconsistent(`input ${input.name} of job ${job.name} names resource ${input.resource}`);
      }
      for (const passed of input.passed) {
        if (!jobs.has(passed)) {
          throw inconsistent(`input ${input.name} of job ${job.name} has passed: ${passed}, which is no job`);
        }
      }
    }
  }
}

function inconsistent(what: string): ConveyorError {
  return new ConveyorError(
    'CC_E_SCHEDULER_MODEL_INCONSISTENT',
    `the pipeline model is inconsistent: ${what} it does not declare; validate the configuration before saving it`,
  );
}

async function upsertPipeline(
  client: PoolClient,
  teamId: number,
  input: SavePipelineInput,
): Promise<{ pipelineId: number; created: boolean; version: number }> {
  const config = JSON.stringify(input.model);
  const configText = input.configText ?? null;
  const { rows: inserted } = await client.query<{ id: number; config_version: number }>(
    `INSERT INTO pipelines (team_id, name, config, config_text, ordering)
     VALUES ($1, $2, $3, $4, (SELECT coalesce(max(ordering), 0) + 1 FROM pipelines WHERE team_id = $1))
     ON CONFLICT (team_id, name) DO NOTHING
     RETURNING id, config_version`,
    [teamId, input.name, config, configText],
  );
  const fresh = inserted[0];
  if (fresh !== undefined) {
    if (input.expectedVersion !== undefined) throw conflict(input, null);
    return { pipelineId: fresh.id, created: true, version: fresh.config_version };
  }

  // Concurrent saves of one pipeline queue up here; each then compares the version it read.
  const { rows: existing } = await client.query<{ id: number; config_version: number }>(
    'SELECT id, config_version FROM pipelines WHERE team_id = $1 AND name = $2 FOR NO KEY UPDATE',
    [teamId, input.name],
  );
  const current = existing[0];
  if (current === undefined) throw conflict(input, null);
  if (input.expectedVersion !== undefined && input.expectedVersion !== current.config_version) {
    throw conflict(input, current.config_version);
  }
  const { rows: updated } = await client.query<{ config_version: number }>(
    `UPDATE pipelines
     SET config = $2, config_text = $3, config_version = config_version + 1,
         paused = paused OR archived, archived = false, updated_at = now()
     WHERE id = $1
     RETURNING config_version`,
    [current.id, config, configText],
  );
  return {
    pipelineId: current.id,
    created: false,
    version: updated[0]?.config_version ?? current.config_version + 1,
  };
}

function conflict(input: SavePipelineInput, current: number | null): ConveyorError {
  const now = current === null ? 'it does not exist any more' : `it is at version ${current} now`;
  return new ConveyorError(
    'CC_E_SCHEDULER_PIPELINE_CONFLICT',
    `pipeline ${JSON.stringify(input.name)} of team ${JSON.stringify(input.team)} changed since version ` +
      `${input.expectedVersion} was read (${now}): fetch it again, re-apply your change and set it again`,
    { details: { team: input.team, pipeline: input.name, expected: input.expectedVersion, current } },
  );
}

/**
 * A resource whose (type, source) changes gets a new version scope: its old versions stay for the
 * builds that used them but are no longer its versions. jsonb equality ignores key order.
 */
const UPSERT_RESOURCES = `
  INSERT INTO resources AS r (pipeline_id, name, type, source, config, check_every)
  SELECT $1, x.name, x.type, x.source, x.config, x.check_every_ms * interval '1 millisecond'
  FROM unnest($2::text[], $3::text[], $4::jsonb[], $5::jsonb[], $6::bigint[])
    AS x (name, type, source, config, check_every_ms)
  ON CONFLICT (pipeline_id, name) DO UPDATE SET
    type = excluded.type,
    source = excluded.source,
    config = excluded.config,
    check_every = excluded.check_every,
    active = true,
    updated_at = now(),
    version_scope = r.version_scope
      + CASE WHEN r.type <> excluded.type OR r.source <> excluded.source THEN 1 ELSE 0 END,
    pinned_version_id = CASE WHEN r.type <> excluded.type OR r.source <> excluded.source
      THEN NULL ELSE r.pinned_version_id END,
    pin_comment = CASE WHEN r.type <> excluded.type OR r.source <> excluded.source
      THEN NULL ELSE r.pin_comment END,
    last_check_error = CASE WHEN r.type <> excluded.type OR r.source <> excluded.source
      THEN NULL ELSE r.last_check_error END,
    last_checked_at = CASE WHEN r.type <> excluded.type OR r.source <> excluded.source
      THEN NULL ELSE r.last_checked_at END,
    -- Check at once what is new to checking: a new history, a comeback, a new interval.
    next_check_at = CASE
      WHEN r.type <> excluded.type OR r.source <> excluded.source OR NOT r.active
        OR r.check_every IS DISTINCT FROM excluded.check_every
      THEN now() ELSE r.next_check_at END`;

const RENAME_RESOURCES = `
  UPDATE resources AS r SET name = x.new_name, updated_at = now()
  FROM unnest($2::text[], $3::text[]) AS x (new_name, old_name)
  WHERE r.pipeline_id = $1 AND r.name = x.old_name
    AND NOT EXISTS (SELECT 1 FROM resources AS taken WHERE taken.pipeline_id = $1 AND taken.name = x.new_name)`;

async function saveResources(client: PoolClient, pipelineId: number, resources: readonly ResourceModel[]) {
  // A renamed resource (`old_name`) keeps its row, so its versions and the builds that used them.
  const renames = resources.filter(
    (resource) => resource.oldName !== undefined && resource.oldName !== resource.name,
  );
  if (renames.length > 0) {
    await client.query(RENAME_RESOURCES, [
      pipelineId,
      renames.map((resource) => resource.name),
      renames.map((resource) => resource.oldName),
    ]);
  }
  await client.query({
    name: 'conveyor_save_pipeline_resources',
    text: UPSERT_RESOURCES,
    values: [
      pipelineId,
      resources.map((resource) => resource.name),
      resources.map((resource) => resource.type),
      resources.map((resource) => JSON.stringify(resource.source)),
      resources.map((resource) => JSON.stringify(resource)),
      resources.map((resource) => resource.checkEveryMs),
    ],
  });
  await client.query(
    `UPDATE resources SET active = false, updated_at = now()
     WHERE pipeline_id = $1 AND active AND NOT (name = ANY($2::text[]))`,
    [pipelineId, resources.map((resource) => resource.name)],
  );
}

const RENAME_JOBS = `
  UPDATE jobs AS j SET name = x.new_name, updated_at = now()
  FROM unnest($2::text[], $3::text[]) AS x (new_name, old_name)
  WHERE j.pipeline_id = $1 AND j.name = x.old_name
    AND NOT EXISTS (SELECT 1 FROM jobs AS taken WHERE taken.pipeline_id = $1 AND taken.name = x.new_name)`;

const UPSERT_JOBS = `
  INSERT INTO jobs AS j (pipeline_id, name, config, max_in_flight)
  SELECT $1, x.name, x.config, x.max_in_flight
  FROM unnest($2::text[], $3::jsonb[], $4::integer[]) AS x (name, config, max_in_flight)
  ON CONFLICT (pipeline_id, name) DO UPDATE SET
    config = excluded.config,
    max_in_flight = excluded.max_in_flight,
    active = true,
    updated_at = now(),
    schedule_requested_at = GREATEST(clock_timestamp(), j.schedule_requested_at + interval '1 microsecond')
  RETURNING id, name`;

/** Passed job names become ids of the pipeline's (now current) jobs. */
const INSERT_JOB_INPUTS = `
  INSERT INTO job_inputs (job_id, name, resource_id, trigger, version_mode, pinned_version, passed_job_ids)
  SELECT x.job_id, x.name, r.id, x.trigger, x.version_mode, x.pinned_version,
    ARRAY(
      SELECT passed.id
      FROM jsonb_array_elements_text(x.passed) AS p (name)
      JOIN jobs AS passed ON passed.pipeline_id = $1 AND passed.name = p.name
      ORDER BY passed.id
    )
  FROM unnest($2::integer[], $3::text[], $4::text[], $5::boolean[], $6::text[], $7::jsonb[], $8::jsonb[])
    AS x (job_id, name, resource, trigger, version_mode, pinned_version, passed)
  JOIN resources AS r ON r.pipeline_id = $1 AND r.name = x.resource`;

async function saveJobs(client: PoolClient, pipelineId: number, jobs: readonly JobModel[]) {
  const renames = jobs.filter((job) => job.oldName !== undefined && job.oldName !== job.name);
  if (renames.length > 0) {
    await client.query(RENAME_JOBS, [
      pipelineId,
      renames.map((job) => job.name),
      renames.map((job) => job.oldName),
    ]);
  }
  const { rows: saved } = await client.query<{ id: number; name: string }>({
    name: 'conveyor_save_pipeline_jobs',
    text: UPSERT_JOBS,
    values: [
      pipelineId,
      jobs.map((job) => job.name),
      jobs.map((job) => JSON.stringify(job)),
      jobs.map((job) => job.maxInFlight),
    ],
  });
  await client.query(
    `UPDATE jobs SET active = false, updated_at = now()
     WHERE pipeline_id = $1 AND active AND NOT (name = ANY($2::text[]))`,
    [pipelineId, jobs.map((job) => job.name)],
  );
  const ids = new Map(saved.map((row) => [row.name, row.id]));
  const jobIds = saved.map((row) => row.id);

  await client.query('DELETE FROM job_serial_groups WHERE job_id = ANY($1::integer[])', [jobIds]);
  const groups = jobs.flatMap((job) => [...new Set(job.serialGroups)].map((group) => ({ job, group })));
  if (groups.length > 0) {
    await client.query(
      `INSERT INTO job_serial_groups (job_id, serial_group)
       SELECT * FROM unnest($1::integer[], $2::text[])`,
      [groups.map(({ job }) => ids.get(job.name)), groups.map(({ group }) => group)],
    );
  }

  await client.query('DELETE FROM job_inputs WHERE job_id = ANY($1::integer[])', [jobIds]);
  const inputs = jobs.flatMap((job) => {
    // One row per artifact name: a plan that gets one name twice keeps the first.
    const seen = new Set<string>();
    return job.inputs
      .filter((input) => !seen.has(input.name) && seen.add(input.name))
      .map((input) => ({ job, input }));
  });
  if (inputs.length > 0) {
    await client.query({
      name: 'conveyor_save_pipeline_job_inputs',
      text: INSERT_JOB_INPUTS,
      values: [
        pipelineId,
        inputs.map(({ job }) => ids.get(job.name)),
        inputs.map(({ input }) => input.name),
        inputs.map(({ input }) => input.resource),
        inputs.map(({ input }) => input.trigger),
        inputs.map(({ input }) => (typeof input.version === 'string' ? input.version : 'pinned')),
        inputs.map(({ input }) => (typeof input.version === 'string' ? null : JSON.stringify(input.version))),
        inputs.map(({ input }) => JSON.stringify(input.passed)),
      ],
    });
  }
}
