import { ConveyorError } from '../errors/index.js';
import type { JobRef, PipelineRef, ResourceRef } from './services.js';

/*
 * The errors service implementations reject with, built here so every implementation words them
 * alike: what is missing, where, and how to find what exists. Names go into messages quoted, as
 * the user typed them in the path.
 */

export function teamNotFound(team: string): ConveyorError {
  return new ConveyorError('CC_E_API_TEAM_NOT_FOUND', `no team "${team}"`, { details: { team } });
}

export function pipelineNotFound(ref: PipelineRef): ConveyorError {
  return new ConveyorError(
    'CC_E_API_PIPELINE_NOT_FOUND',
    `no pipeline "${ref.pipeline}" in team "${ref.team}"; \`cc pipelines\` lists them`,
    { details: { team: ref.team, pipeline: ref.pipeline } },
  );
}

export function jobNotFound(ref: JobRef): ConveyorError {
  return new ConveyorError(
    'CC_E_API_JOB_NOT_FOUND',
    `no job "${ref.job}" in pipeline "${ref.pipeline}" of team "${ref.team}"; \`cc jobs -p ${ref.pipeline}\` lists them`,
    { details: { team: ref.team, pipeline: ref.pipeline, job: ref.job } },
  );
}

export function buildNotFound(id: number): ConveyorError {
  return new ConveyorError('CC_E_API_BUILD_NOT_FOUND', `no build with id ${id}`, { details: { build: id } });
}

export function jobBuildNotFound(ref: JobRef, name: string): ConveyorError {
  return new ConveyorError(
    'CC_E_API_BUILD_NOT_FOUND',
    `no build "${name}" of job "${ref.job}" in pipeline "${ref.pipeline}" of team "${ref.team}"`,
    { details: { team: ref.team, pipeline: ref.pipeline, job: ref.job, buildName: name } },
  );
}

export function resourceNotFound(ref: ResourceRef): ConveyorError {
  return new ConveyorError(
    'CC_E_API_RESOURCE_NOT_FOUND',
    `no resource "${ref.resource}" in pipeline "${ref.pipeline}" of team "${ref.team}"`,
    { details: { team: ref.team, pipeline: ref.pipeline, resource: ref.resource } },
  );
}

export function resourceVersionNotFound(ref: ResourceRef, versionId: number): ConveyorError {
  return new ConveyorError(
    'CC_E_API_RESOURCE_VERSION_NOT_FOUND',
    `resource "${ref.resource}" of pipeline "${ref.pipeline}" has no version with id ${versionId}`,
    { details: { team: ref.team, pipeline: ref.pipeline, resource: ref.resource, versionId } },
  );
}

export function pipelineConfigConflict(ref: PipelineRef, expected: number, actual: number): ConveyorError {
  return new ConveyorError(
    'CC_E_API_PIPELINE_CONFIG_CONFLICT',
    `the config of pipeline "${ref.pipeline}" is at version ${actual}, not ${expected}: it changed since you read it; fetch it again and reapply your change`,
    { details: { team: ref.team, pipeline: ref.pipeline, expectedVersion: expected, version: actual } },
  );
}

export function manualTriggerDisabled(ref: JobRef): ConveyorError {
  return new ConveyorError(
    'CC_E_API_MANUAL_TRIGGER_DISABLED',
    `job "${ref.job}" of pipeline "${ref.pipeline}" has disable_manual_trigger set: new input versions trigger it, not people`,
    { details: { team: ref.team, pipeline: ref.pipeline, job: ref.job } },
  );
}

export function resourcePinnedInConfig(ref: ResourceRef): ConveyorError {
  return new ConveyorError(
    'CC_E_API_RESOURCE_PINNED_IN_CONFIG',
    `resource "${ref.resource}" of pipeline "${ref.pipeline}" is pinned by \`version:\` in the pipeline config; remove it there to unpin or repin`,
    { details: { team: ref.team, pipeline: ref.pipeline, resource: ref.resource } },
  );
}

export function checkFailed(ref: ResourceRef, message: string): ConveyorError {
  return new ConveyorError(
    'CC_E_API_CHECK_FAILED',
    `check of resource "${ref.resource}" in pipeline "${ref.pipeline}" failed: ${message}`,
    { details: { team: ref.team, pipeline: ref.pipeline, resource: ref.resource, checkError: message } },
  );
}

export function buildNotPending(id: number, status: string): ConveyorError {
  return new ConveyorError(
    'CC_E_API_BUILD_NOT_PENDING',
    `build ${id} is ${status}, not pending: it takes no more uploads and cannot be started again`,
    { details: { build: id, status } },
  );
}

export function buildInputUnknown(id: number, name: string, declared: readonly string[]): ConveyorError {
  const known = declared.length === 0 ? 'it declares none' : `it declares ${declared.join(', ')}`;
  return new ConveyorError('CC_E_API_BUILD_INPUT_UNKNOWN', `build ${id} has no input "${name}"; ${known}`, {
    details: { build: id, input: name, declared: [...declared] },
  });
}

export function buildInputsMissing(id: number, missing: readonly string[]): ConveyorError {
  return new ConveyorError(
    'CC_E_API_BUILD_INPUTS_MISSING',
    `build ${id} cannot start before its inputs are uploaded; missing: ${missing.join(', ')}`,
    { details: { build: id, missing: [...missing] } },
  );
}

export function buildNotFinished(id: number, status: string): ConveyorError {
  return new ConveyorError(
    'CC_E_API_BUILD_NOT_FINISHED',
    `build ${id} is ${status}: its outputs can be downloaded once it has finished`,
    { details: { build: id, status } },
  );
}

export function buildOutputNotFound(id: number, name: string): ConveyorError {
  return new ConveyorError(
    'CC_E_API_BUILD_OUTPUT_NOT_FOUND',
    `build ${id} has no output "${name}": it was not declared, or the task did not produce it`,
    { details: { build: id, output: name } },
  );
}

/** `which` says what the request named: `step "unit"`, `container b4-c-0a1b`, or nothing. */
export function containerNotFound(
  buildId: number,
  which: string | undefined,
  buildStatus: string,
): ConveyorError {
  const over = ['succeeded', 'failed', 'errored', 'aborted'].includes(buildStatus);
  const why = over
    ? `the build has ${buildStatus}, and its containers went with it`
    : buildStatus === 'pending'
      ? 'the build has not started yet'
      : 'a step has a container only while it runs';
  return new ConveyorError(
    'CC_E_API_CONTAINER_NOT_FOUND',
    `build ${buildId} has no container${which === undefined ? '' : ` for ${which}`} to run a process in: ${why}; \`cc containers\` lists the containers there are`,
    { details: { build: buildId, status: buildStatus, ...(which === undefined ? {} : { which }) } },
  );
}

export interface ContainerChoice {
  handle: string;
  plan_id?: string;
  step_name?: string;
  type?: string;
}

export function interceptAmbiguous(buildId: number, containers: readonly ContainerChoice[]): ConveyorError {
  const listed = containers
    .map(
      (c) => `${c.type ?? 'step'} ${JSON.stringify(c.step_name ?? c.plan_id ?? '?')} (container ${c.handle})`,
    )
    .join(', ');
  return new ConveyorError(
    'CC_E_API_INTERCEPT_AMBIGUOUS',
    `build ${buildId} has ${containers.length} containers: ${listed}; name one with ?step= or ?container=`,
    { details: { build: buildId, containers: containers.map(choice) } },
  );
}

/** Only the fields that tell containers apart, of whatever shape the caller has. */
function choice({ handle, plan_id, step_name, type }: ContainerChoice): ContainerChoice {
  return {
    handle,
    ...(plan_id === undefined ? {} : { plan_id }),
    ...(step_name === undefined ? {} : { step_name }),
    ...(type === undefined ? {} : { type }),
  };
}

export function ttyUnsupported(runtime: string): ConveyorError {
  return new ConveyorError(
    'CC_E_API_TTY_UNSUPPORTED',
    `the runtime "${runtime}" cannot give a process a terminal: use the containerd runtime (\`runtime: containerd\` in conveyor.yaml) for an interactive shell, or run a command without a terminal (\`cc intercept ... --no-tty -- CMD\`, or with stdin not a terminal)`,
    { details: { runtime } },
  );
}
