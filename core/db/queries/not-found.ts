import { ConveyorError } from '../../errors/index.js';

/** The "no such thing" errors the queries share, worded alike. */

export function teamNotFound(team: string): ConveyorError {
  return new ConveyorError('CC_E_SCHEDULER_TEAM_NOT_FOUND', `team ${JSON.stringify(team)} does not exist`, {
    details: { team },
  });
}

export function pipelineNotFound(pipeline: number | { team: string; name: string }): ConveyorError {
  const what =
    typeof pipeline === 'number'
      ? `pipeline ${pipeline}`
      : `pipeline ${JSON.stringify(pipeline.name)} of team ${JSON.stringify(pipeline.team)}`;
  return new ConveyorError('CC_E_SCHEDULER_PIPELINE_NOT_FOUND', `${what} does not exist`, {
    details: typeof pipeline === 'number' ? { pipelineId: pipeline } : pipeline,
  });
}

export function jobNotFound(jobId: number): ConveyorError {
  return new ConveyorError(
    'CC_E_SCHEDULER_JOB_NOT_FOUND',
    `job ${jobId} does not exist or was removed from its pipeline`,
    { details: { jobId } },
  );
}

export function resourceNotFound(resourceId: number): ConveyorError {
  return new ConveyorError(
    'CC_E_SCHEDULER_RESOURCE_NOT_FOUND',
    `resource ${resourceId} does not exist or was removed from its pipeline`,
    { details: { resourceId } },
  );
}

export function buildNotFound(buildId: number): ConveyorError {
  return new ConveyorError('CC_E_SCHEDULER_BUILD_NOT_FOUND', `build ${buildId} does not exist`, {
    details: { buildId },
  });
}
