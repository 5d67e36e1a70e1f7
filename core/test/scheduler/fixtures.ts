import {
  type Pool,
  type SavePipelineInput,
  savePipeline,
  saveResourceVersions,
  withTransaction,
} from '@conveyor/core/db';

/** Shared by the pipeline state suites (db, scheduler, checker, gc, events). */

export type PipelineModel = SavePipelineInput['model'];
export type ResourceModel = PipelineModel['resources'][number];
export type JobModel = PipelineModel['jobs'][number];
export type JobInput = JobModel['inputs'][number];

export function resource(name: string, overrides: Partial<ResourceModel> = {}): ResourceModel {
  return {
    name,
    type: 'mock',
    source: {},
    checkEveryMs: 60_000,
    checkTimeoutMs: 60_000,
    tags: [],
    public: false,
    ...overrides,
  };
}

/** An input that gets `resource` under its own name, triggering unless told otherwise. */
export function input(resourceName: string, overrides: Partial<JobInput> = {}): JobInput {
  return {
    name: resourceName,
    resource: resourceName,
    trigger: true,
    passed: [],
    version: 'latest',
    ...overrides,
  };
}

export function job(name: string, inputs: JobInput[] = [], overrides: Partial<JobModel> = {}): JobModel {
  return {
    name,
    plan: inputs.map((i) => ({ get: i.name, resource: i.resource })),
    inputs,
    outputs: [],
    serial: false,
    serialGroups: [],
    maxInFlight: null,
    interruptible: false,
    public: false,
    disableManualTrigger: false,
    ...overrides,
  };
}

export function model(resources: ResourceModel[], jobs: JobModel[]): PipelineModel {
  return { resources, resourceTypes: [], jobs, groups: [], varSources: [] };
}

let pipelines = 0;

export interface SavedPipeline {
  pipelineId: number;
  name: string;
  jobs: Record<string, number>;
  resources: Record<string, number>;
}

/** Saves a pipeline (unpaused, unless told) and resolves the ids of its jobs and resources. */
export async function createPipeline(
  pool: Pool,
  pipelineModel: PipelineModel,
  options: { paused?: boolean; name?: string } = {},
): Promise<SavedPipeline> {
  const name = options.name ?? `pipeline-${++pipelines}`;
  const { pipelineId } = await savePipeline(pool, { team: 'main', name, model: pipelineModel });
  if (options.paused !== true)
    await pool.query('UPDATE pipelines SET paused = false WHERE id = $1', [pipelineId]);
  return { pipelineId, name, ...(await ids(pool, pipelineId)) };
}

export async function ids(
  pool: Pool,
  pipelineId: number,
): Promise<{ jobs: Record<string, number>; resources: Record<string, number> }> {
  const { rows: jobs } = await pool.query<{ id: number; name: string }>(
    'SELECT id, name FROM jobs WHERE pipeline_id = $1',
    [pipelineId],
  );
  const { rows: resources } = await pool.query<{ id: number; name: string }>(
    'SELECT id, name FROM resources WHERE pipeline_id = $1',
    [pipelineId],
  );
  return {
    jobs: Object.fromEntries(jobs.map((row) => [row.name, row.id])),
    resources: Object.fromEntries(resources.map((row) => [row.name, row.id])),
  };
}

/** Stores versions `{ v: name }` as a check would have found them, oldest first; resolves their ids. */
export async function addVersions(pool: Pool, resourceId: number, names: string[]): Promise<number[]> {
  const saved = await withTransaction(pool, (client) =>
    saveResourceVersions(
      client,
      resourceId,
      names.map((v) => ({ version: { v } })),
    ),
  );
  const byName = new Map(saved?.versions.map((row) => [row.version.v, row.id]));
  return names.map((name) => byName.get(name) as number);
}
