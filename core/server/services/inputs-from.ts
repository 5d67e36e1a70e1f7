import type { CreateBuildRequest } from '../../api/index.js';
import type { PipelineModel } from '../../config/index.js';
import { getResourceVersionsByIds, type Queryable } from '../../db/index.js';
import { ConveyorError } from '../../errors/index.js';
import { resolveInputs } from '../../scheduler/index.js';
import { requireJob } from './lookups.js';
import type { JobInputGet } from './one-off-plan.js';

/**
 * fly's `--inputs-from`: the versions the job's inputs would use if it were triggered now (latest,
 * pinned, and through `passed:`), as gets that a one-off build runs before its task.
 */
export async function jobInputGets(
  db: Queryable,
  team: string,
  from: NonNullable<CreateBuildRequest['inputs_from']>,
): Promise<JobInputGet[]> {
  const { pipeline, job } = await requireJob(db, { team, pipeline: from.pipeline, job: from.job });
  const resolution = await resolveInputs(db, job.id);
  if (!resolution.ok) {
    throw new ConveyorError(
      'CC_E_API_BAD_REQUEST',
      `inputs_from: input ${JSON.stringify(resolution.input)} of ${from.pipeline}/${from.job} has no version to use: ${resolution.reason}`,
      { details: { field: 'inputs_from', problems: [{ path: 'inputs_from', message: resolution.reason }] } },
    );
  }
  const model = pipeline.config as PipelineModel;
  const versions = new Map(
    (
      await getResourceVersionsByIds(
        db,
        resolution.inputs.map((input) => input.resourceVersionId),
      )
    ).map((row) => [row.id, row.version]),
  );
  const inputs = (
    job.config as { inputs: Array<{ name: string; resource: string; params?: Record<string, unknown> }> }
  ).inputs;
  return resolution.inputs.flatMap((resolved) => {
    const input = inputs.find((candidate) => candidate.name === resolved.name);
    const resource = model.resources.find((candidate) => candidate.name === input?.resource);
    const version = versions.get(resolved.resourceVersionId);
    if (!input || !resource || !version) return [];
    return [
      {
        name: resolved.name,
        step: {
          id: `get-${resolved.name}`,
          type: 'get' as const,
          name: resolved.name,
          resource: resource.name,
          resourceType: resource.type,
          source: resource.source,
          version,
          ...(input.params ? { params: input.params } : {}),
        },
      },
    ];
  });
}
