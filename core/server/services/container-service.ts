import type { Labels } from '@conveyor/plugin-api';
import type { Container, ContainerFilter, ContainerService, Volume, VolumeService } from '../../api/index.js';
import { ConveyorError } from '../../errors/index.js';
import { ARTIFACT_LABEL, ROLE_LABEL, STEP_LABEL } from '../../executor/index.js';
import { ownerLabels } from '../../gc/index.js';
import type { PluginClient } from '../../plugins/index.js';
import { type BuildSteps, loadBuildSteps, stepOf } from './build-steps.js';
import {
  type BuildContainerRow,
  type BuildRowsFilter,
  type BuildVolumeRow,
  listBuildContainers,
  listBuildVolumes,
} from './container-queries.js';
import type { ApiServicesDeps } from './deps.js';
import { requireJob, requirePipeline, requireTeam } from './lookups.js';
import { unixSeconds } from './present.js';

/*
 * `cc containers` and `cc volumes`: the rows Conveyor recorded, named after the build and the step
 * they serve. The executor labels what it asks a plugin for with the step's plan id
 * (`conveyor.dev/step`) and role; where a row does not carry those labels itself, they are read
 * from the plugin, once per listing.
 */

export function createContainerService(deps: ApiServicesDeps): ContainerService {
  return {
    async list(team, filter) {
      const rows = await listBuildContainers(deps.pool, await rowsFilter(deps, team, filter));
      return (await presentContainers(deps, rows)).filter((container) => matches(container, filter));
    },
  };
}

export function createVolumeService(deps: ApiServicesDeps): VolumeService {
  return {
    async list(team, filter) {
      const rows = await listBuildVolumes(deps.pool, await rowsFilter(deps, team, filter));
      const labels = rows.some(lacksStep) ? await liveVolumeLabels(deps.volumes) : new Map<string, Labels>();
      const steps = await loadBuildSteps(deps.pool, buildIdsOf(rows));
      return rows
        .map((row) => presentVolume(row, { ...labels.get(row.handle), ...row.labels }, steps))
        .filter((volume) => matches(volume, filter));
    },
  };
}

/** The containers of these rows, as the API shows them. */
export async function presentContainers(
  deps: Pick<ApiServicesDeps, 'pool' | 'runtime'>,
  rows: readonly BuildContainerRow[],
): Promise<Container[]> {
  const labels = rows.some(lacksStep) ? await liveContainerLabels(deps.runtime) : new Map<string, Labels>();
  const steps = await loadBuildSteps(deps.pool, buildIdsOf(rows));
  return rows.map((row) => presentContainer(row, { ...labels.get(row.handle), ...row.labels }, steps));
}

/** Whether a container or volume is of the step the filter names (its name or plan id) and type. */
export function matches(
  item: { plan_id?: string; step_name?: string; type?: string },
  filter: Pick<ContainerFilter, 'step' | 'type'>,
): boolean {
  if (filter.type !== undefined && item.type !== filter.type) return false;
  if (filter.step === undefined) return true;
  const planId = item.plan_id;
  return (
    item.step_name === filter.step ||
    planId === filter.step ||
    (planId !== undefined && planId.split('/', 1)[0] === filter.step)
  );
}

/**
 * The database filter of a listing, after checking what it names exists (outermost first, so the
 * 404 names the part that is wrong). `build` is a build name, so it needs its job.
 */
async function rowsFilter(
  deps: ApiServicesDeps,
  team: string,
  filter: ContainerFilter,
): Promise<BuildRowsFilter> {
  if (filter.job !== undefined && filter.pipeline === undefined) {
    throw badFilter('job', 'a job is named within its pipeline: give `pipeline` too');
  }
  if (filter.build !== undefined && filter.job === undefined) {
    throw badFilter(
      'build',
      'a build name counts within its job: give `job` too, or `build_id` for a global id',
    );
  }
  if (filter.pipeline === undefined) await requireTeam(deps.pool, team);
  else if (filter.job === undefined) await requirePipeline(deps.pool, { team, pipeline: filter.pipeline });
  else await requireJob(deps.pool, { team, pipeline: filter.pipeline, job: filter.job }, { removed: true });
  return {
    team,
    pipeline: filter.pipeline,
    job: filter.job,
    build: filter.build,
    buildId: filter.buildId,
  };
}

function badFilter(field: string, why: string): ConveyorError {
  return new ConveyorError('CC_E_API_BAD_REQUEST', `invalid request: querystring.${field} ${why}`, {
    details: { field: `querystring.${field}` },
  });
}

function lacksStep(row: { labels: Labels; plan_id?: string | null }): boolean {
  return (row.plan_id ?? row.labels[STEP_LABEL]) === undefined;
}

function buildIdsOf(rows: ReadonlyArray<{ build_id: number }>): number[] {
  return [...new Set(rows.map((row) => row.build_id))];
}

/** The labels of what the runtime holds for Conveyor, by handle; none if it cannot say. */
async function liveContainerLabels(runtime: PluginClient<'runtime'>): Promise<Map<string, Labels>> {
  try {
    const { containers } = await runtime.call('listContainers', { labels: ownerLabels(undefined) });
    return new Map(containers.map((container) => [container.handle, container.labels]));
  } catch {
    // The listing is still worth having without step names.
    return new Map();
  }
}

async function liveVolumeLabels(volumes: PluginClient<'volume'>): Promise<Map<string, Labels>> {
  try {
    const { volumes: found } = await volumes.call('listVolumes', { labels: ownerLabels(undefined) });
    return new Map(found.map((info) => [info.volume.handle, info.labels]));
  } catch {
    return new Map();
  }
}

/** Fields every listing shares: the build, and the step the plan id names. */
function owner(
  row: BuildContainerRow | BuildVolumeRow,
  planId: string | undefined,
  steps: BuildSteps,
): Pick<
  Container,
  'team_name' | 'build_id' | 'build_name' | 'pipeline_name' | 'job_name' | 'plan_id' | 'step_name'
> & {
  stepType?: string;
} {
  const step = stepOf(steps, row.build_id, planId);
  return {
    team_name: row.team_name,
    build_id: row.build_id,
    build_name: row.build_name,
    ...(row.pipeline_name === null ? {} : { pipeline_name: row.pipeline_name }),
    ...(row.job_name === null ? {} : { job_name: row.job_name }),
    ...(planId === undefined ? {} : { plan_id: planId }),
    ...(step?.name === undefined ? {} : { step_name: step.name }),
    ...(step === undefined ? {} : { stepType: step.type }),
  };
}

function presentContainer(row: BuildContainerRow, labels: Labels, steps: BuildSteps): Container {
  const { stepType, ...build } = owner(row, row.plan_id ?? labels[STEP_LABEL], steps);
  const type = stepType ?? labels[ROLE_LABEL];
  return {
    handle: row.handle,
    worker_name: row.worker,
    runtime: row.runtime,
    state: row.state,
    ...build,
    ...(type === undefined ? {} : { type }),
    created_at: unixSeconds(row.created_at),
  };
}

function presentVolume(row: BuildVolumeRow, labels: Labels, steps: BuildSteps): Volume {
  const { stepType: _stepType, ...build } = owner(row, labels[STEP_LABEL], steps);
  const role = labels[ROLE_LABEL];
  const artifact = labels[ARTIFACT_LABEL];
  return {
    handle: row.handle,
    worker_name: row.worker,
    driver: row.driver,
    state: row.state,
    ...(role === undefined ? {} : { type: role }),
    ...(artifact === undefined ? {} : { artifact }),
    ...build,
    ...(row.container_handle === null ? {} : { container_handle: row.container_handle }),
    ...(row.parent_handle === null ? {} : { parent_handle: row.parent_handle }),
    created_at: unixSeconds(row.created_at),
  };
}
