import {
  buildNotFound,
  type JobRef,
  jobNotFound,
  type PipelineRef,
  pipelineNotFound,
  type ResourceRef,
  resourceNotFound,
  resourceVersionNotFound,
  teamNotFound,
} from '../../api/index.js';
import {
  type BuildRow,
  findActiveJobId,
  getBuild,
  getJobByName,
  getPipeline,
  getResourceByName,
  type JobRow,
  type PipelineWithText,
  type Queryable,
  type ResourceRow,
  type ResourceVersionRow,
} from '../../db/index.js';
import { currentVersion, teamExists } from './queries.js';

/*
 * Finds what a route's path names, outermost first, and rejects with the 404 of the first part
 * that does not exist: a missing team is reported as such, not as a missing pipeline.
 */

export async function requireTeam(db: Queryable, team: string): Promise<void> {
  if (!(await teamExists(db, team))) throw teamNotFound(team);
}

export async function requirePipeline(db: Queryable, ref: PipelineRef): Promise<PipelineWithText> {
  const pipeline = await getPipeline(db, ref.team, ref.pipeline);
  if (pipeline !== null) return pipeline;
  await requireTeam(db, ref.team);
  throw pipelineNotFound(ref);
}

/** A job's id only, for the hot paths that need no more (a trigger); the same 404s as requireJob. */
export async function requireActiveJobId(db: Queryable, ref: JobRef): Promise<number> {
  const id = await findActiveJobId(db, ref.team, ref.pipeline, ref.job);
  if (id !== null) return id;
  // Which part is missing decides the 404: look again the long way.
  const { job } = await requireJob(db, ref);
  return job.id;
}

export interface JobLookup {
  pipeline: PipelineWithText;
  job: JobRow;
}

/**
 * The job, if it is in the pipeline's config. `removed: true` also finds a job gone from the
 * config, whose builds stay viewable.
 */
export async function requireJob(
  db: Queryable,
  ref: JobRef,
  options: { removed?: boolean } = {},
): Promise<JobLookup> {
  const pipeline = await requirePipeline(db, ref);
  const job = await getJobByName(db, pipeline.id, ref.job);
  if (job === null || !(job.active || options.removed === true)) throw jobNotFound(ref);
  return { pipeline, job };
}

export interface ResourceLookup {
  pipeline: PipelineWithText;
  resource: ResourceRow;
}

export async function requireResource(db: Queryable, ref: ResourceRef): Promise<ResourceLookup> {
  const pipeline = await requirePipeline(db, ref);
  const resource = await getResourceByName(db, pipeline.id, ref.resource);
  if (resource === null || !resource.active) throw resourceNotFound(ref);
  return { pipeline, resource };
}

export async function requireVersion(
  db: Queryable,
  ref: ResourceRef,
  resourceId: number,
  versionId: number,
): Promise<ResourceVersionRow> {
  const version = await currentVersion(db, resourceId, versionId);
  if (version === null) throw resourceVersionNotFound(ref, versionId);
  return version;
}

export async function requireBuild(db: Queryable, id: number): Promise<BuildRow> {
  const build = await getBuild(db, id);
  if (build === null) throw buildNotFound(id);
  return build;
}
