import type {
  Build,
  Job,
  Pipeline,
  PipelineConfigProblem,
  Resource,
  ResourceVersion,
} from '../../api/index.js';
import type { JobModel, PipelineModel, PipelineProblem, ResourceModel } from '../../config/index.js';
import type {
  BuildRow,
  BuildSummary,
  JobRow,
  JobSummaryRow,
  PipelineRow,
  ResourceRow,
  ResourceVersionRow,
} from '../../db/index.js';

/*
 * Rows (snake_case columns, Dates, the stored models) into the API's JSON shapes, which follow
 * Concourse's: snake_case fields, times in Unix seconds, optional fields left out rather than null.
 */

export function unixSeconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}

/** The models are stored as set-pipeline saved them; a missing list reads as empty. */
function pipelineModel(row: PipelineRow): Partial<PipelineModel> {
  return (row.config ?? {}) as Partial<PipelineModel>;
}

export function presentPipeline(row: PipelineRow): Pipeline {
  return {
    id: row.id,
    name: row.name,
    team_name: row.team_name,
    paused: row.paused,
    ...(row.paused_by === null ? {} : { paused_by: row.paused_by }),
    ...(row.paused_at === null ? {} : { paused_at: unixSeconds(row.paused_at) }),
    // Concourse's pipeline-level `public` is set by expose-pipeline, which Conveyor has not yet.
    public: false,
    archived: row.archived,
    groups: (pipelineModel(row).groups ?? []).map((group) => ({ name: group.name, jobs: [...group.jobs] })),
    last_updated: unixSeconds(row.updated_at),
  };
}

export function presentProblem(problem: PipelineProblem): PipelineConfigProblem {
  return {
    message: problem.message,
    path: problem.path,
    file: problem.file,
    line: problem.line,
    column: problem.column,
    severity: problem.severity,
    ...(problem.suggestion === undefined ? {} : { suggestion: problem.suggestion }),
  };
}

/** One-off builds carry what is still to be uploaded while they wait to start. */
export interface BuildExtras {
  pendingInputs?: string[] | undefined;
}

export function presentBuild(row: BuildRow, extras: BuildExtras = {}): Build {
  const rerunNumber = row.rerun_of === null ? undefined : Number(row.name.split('.').at(-1));
  return {
    id: row.id,
    name: row.name,
    status: row.status,
    team_name: row.team_name,
    ...(row.pipeline_name === null ? {} : { pipeline_name: row.pipeline_name }),
    ...(row.job_name === null ? {} : { job_name: row.job_name }),
    ...(row.start_time === null ? {} : { start_time: unixSeconds(row.start_time) }),
    ...(row.end_time === null ? {} : { end_time: unixSeconds(row.end_time) }),
    ...(row.created_by === null ? {} : { created_by: row.created_by }),
    ...(row.rerun_of === null ? {} : { rerun_of: { id: row.rerun_of, name: row.rerun_of_name ?? '' } }),
    ...(rerunNumber === undefined || !Number.isInteger(rerunNumber) ? {} : { rerun_number: rerunNumber }),
    ...(extras.pendingInputs === undefined ? {} : { pending_inputs: extras.pendingInputs }),
  };
}

/** The summaries listJobs gives; the job's own names complete them. */
function presentBuildSummary(summary: BuildSummary, where: { team: string; pipeline: string; job: string }) {
  return {
    id: summary.id,
    name: summary.name,
    status: summary.status,
    team_name: where.team,
    pipeline_name: where.pipeline,
    job_name: where.job,
    ...(summary.start_time === null ? {} : { start_time: unixSeconds(summary.start_time) }),
    ...(summary.end_time === null ? {} : { end_time: unixSeconds(summary.end_time) }),
  } satisfies Build;
}

export function presentJob(row: JobSummaryRow, pipeline: PipelineRow): Job {
  const model = jobModel(row);
  const where = { team: pipeline.team_name, pipeline: pipeline.name, job: row.name };
  return {
    id: row.id,
    name: row.name,
    team_name: pipeline.team_name,
    pipeline_name: pipeline.name,
    paused: row.paused,
    ...(row.paused_by === null ? {} : { paused_by: row.paused_by }),
    ...(row.paused_at === null ? {} : { paused_at: unixSeconds(row.paused_at) }),
    disable_manual_trigger: model.disableManualTrigger === true,
    next_build: row.next_build === null ? null : presentBuildSummary(row.next_build, where),
    finished_build: row.finished_build === null ? null : presentBuildSummary(row.finished_build, where),
    inputs: (model.inputs ?? []).map((input) => ({
      name: input.name,
      resource: input.resource,
      ...(input.passed.length === 0 ? {} : { passed: [...input.passed] }),
      trigger: input.trigger,
    })),
    outputs: (model.outputs ?? []).map((output) => ({ name: output.name, resource: output.resource })),
    groups: (pipelineModel(pipeline).groups ?? [])
      .filter((group) => group.jobs.includes(row.name))
      .map((group) => group.name),
  };
}

export function jobModel(row: JobRow): Partial<JobModel> {
  return (row.config ?? {}) as Partial<JobModel>;
}

export function presentResource(row: ResourceRow, pipeline: PipelineRow): Resource {
  const model = row.config as Partial<ResourceModel>;
  // A pin in the config wins over one made through the API, as the scheduler applies them.
  const pinned = row.config_pinned_version ?? row.pinned_version;
  return {
    name: row.name,
    team_name: pipeline.team_name,
    pipeline_name: pipeline.name,
    type: row.type,
    ...(typeof model.icon === 'string' ? { icon: model.icon } : {}),
    ...(row.last_checked_at === null ? {} : { last_checked: unixSeconds(row.last_checked_at) }),
    failing_to_check: row.last_check_error !== null,
    ...(row.last_check_error === null ? {} : { check_error: row.last_check_error }),
    ...(pinned === null ? {} : { pinned_version: pinned }),
    ...(row.config_pinned_version === null ? {} : { pinned_in_config: true }),
    ...(row.pin_comment === null ? {} : { pin_comment: row.pin_comment }),
  };
}

export function presentVersion(
  row: Pick<ResourceVersionRow, 'id' | 'version' | 'metadata' | 'enabled'>,
): ResourceVersion {
  return {
    id: row.id,
    version: row.version,
    metadata: row.metadata.map((entry) => ({ name: entry.name, value: entry.value })),
    enabled: row.enabled,
  };
}
