import { parse as parseYaml } from 'yaml';
import { ConveyorError, isConveyorError } from '../errors/index.js';
import type { SetPipelineStep } from '../plan/build-plan.generated.js';
import { readArtifactFile } from './artifact-files.js';
import type { BuildContext } from './build-context.js';
import { failed, type StepOutcome, succeeded } from './outcome.js';
import type { RunScope } from './run-scope.js';
import { isRecord } from './task-config.js';

/**
 * set_pipeline: read a pipeline config (and var files) from artifacts and save it through the
 * caller. `self` is the build's own pipeline, always in the build's team. Vars take precedence
 * over var files, and an earlier var file over a later one, as Concourse resolves them. A config
 * the server rejects fails the step, as in Concourse; other failures error it.
 */
export async function runSetPipelineStep(
  build: BuildContext,
  step: SetPipelineStep,
  scope: RunScope,
): Promise<StepOutcome> {
  const { events, deps } = build;
  const origin = { id: step.id };
  const what = `set_pipeline ${JSON.stringify(step.name)}`;
  await events.emit({ event: 'initialize-set-pipeline', data: { origin, time: events.time() } });
  const setPipeline = deps.setPipeline?.bind(deps);
  if (!setPipeline) {
    throw new ConveyorError(
      'CC_E_EXEC_SET_PIPELINE_UNAVAILABLE',
      `${what}: this server cannot set pipelines from a build`,
    );
  }
  const plan = await build.interpolate(
    {
      name: step.name,
      file: step.file,
      vars: step.vars,
      varFiles: step.varFiles,
      team: step.team,
      instanceVars: step.instanceVars,
    },
    scope,
    `${what}`,
  );
  if (plan.instanceVars && Object.keys(plan.instanceVars).length > 0) {
    throw new ConveyorError(
      'CC_E_EXEC_SET_PIPELINE_UNAVAILABLE',
      `${what}: instance_vars (instanced pipelines) are not supported yet; set a pipeline of its own name instead`,
    );
  }
  let name = plan.name;
  let team = plan.team;
  const stderr = { id: step.id, source: 'stderr' } as const;
  if (name === 'self') {
    if (!deps.build.pipeline) {
      throw new ConveyorError(
        'CC_E_EXEC_SET_PIPELINE_UNAVAILABLE',
        `${what}: this build belongs to no pipeline, so there is no pipeline to set as self`,
      );
    }
    events.log(stderr, "WARNING: 'set_pipeline: self' is experimental and may be removed in the future!\n");
    name = deps.build.pipeline;
    team = undefined;
  }

  const configText = (await readArtifactFile(deps, scope, plan.file, `the config file of ${what}`)).toString(
    'utf8',
  );
  const vars: Record<string, unknown> = {};
  for (const file of [...(plan.varFiles ?? [])].reverse()) {
    Object.assign(vars, await readVarFile(build, scope, file, what));
  }
  Object.assign(vars, plan.vars ?? {});
  await events.emit({ event: 'start-set-pipeline', data: { origin, time: events.time() } });

  const stdout = { id: step.id, source: 'stdout' } as const;
  let changed: boolean;
  try {
    ({ changed } = await setPipeline({ name, ...(team ? { team } : {}), configText, vars }));
  } catch (error) {
    if (!isConveyorError(error, 'CC_E_PIPELINE_INVALID')) throw error;
    events.log(stderr, `invalid pipeline:\n${error.message}\n`);
    await events.emit({
      event: 'finish-set-pipeline',
      data: { origin, time: events.time(), succeeded: false },
    });
    return failed;
  }
  events.log(stdout, changed ? `setting pipeline: ${name}\ndone\n` : 'no changes to apply.\n');
  await events.emit({ event: 'finish-set-pipeline', data: { origin, time: events.time(), succeeded: true } });
  return succeeded;
}

async function readVarFile(
  build: BuildContext,
  scope: RunScope,
  file: string,
  what: string,
): Promise<Record<string, unknown>> {
  const text = (await readArtifactFile(build.deps, scope, file, `a var file of ${what}`)).toString('utf8');
  let parsed: unknown;
  try {
    parsed = parseYaml(text) ?? {};
  } catch {
    // Not the parser's message: it quotes the text, and var files hold secrets.
    parsed = undefined;
  }
  if (!isRecord(parsed)) {
    throw new ConveyorError(
      'CC_E_EXEC_VAR_FILE_INVALID',
      `${what}: var file ${file} is not a YAML map of vars`,
      {
        details: { file },
      },
    );
  }
  return parsed;
}
