import { createAjv, formatProblems, type SchemaProblem } from '@conveyor/plugin-api';
import type { ValidateFunction } from 'ajv/dist/2020.js';
import type { CreateBuildRequest } from '../../api/index.js';
import { parseGoDuration, pipelineSchema } from '../../config/index.js';
import type { BuildRow } from '../../db/index.js';
import { ConveyorError } from '../../errors/index.js';
import type { BuildPlan, GetStep, TaskStep } from '../../plan/index.js';

/*
 * The plan of a one-off build (`cc execute`): one task step, checked against the pipeline
 * schema's TaskConfig (Concourse's task format) before the build is made.
 *
 * The plan also says which inputs the client uploads and which outputs it downloads, so nothing
 * about the build lives outside its row: each as an identity `inputMapping` / `outputMapping`
 * entry (task input `src` comes from the artifact `src`, which is exactly what an upload is).
 * An optional task input the client does not upload has no entry, and the task runs without it.
 */

const kStepId = 'task';
const kStepName = 'one-off';

let validateTaskConfig: ValidateFunction | undefined;

/** The TaskConfig definition of the pipeline schema, compiled once. */
function taskConfigValidator(): ValidateFunction {
  if (validateTaskConfig === undefined) {
    const ajv = createAjv();
    // The pipeline schema's own formats; a task config uses none, but compiling its $defs needs them.
    ajv.addFormat('go-duration', { type: 'string', validate: (text) => parseGoDuration(text).ok });
    ajv.addFormat('check-interval', {
      type: 'string',
      validate: (text) => text === 'never' || parseGoDuration(text).ok,
    });
    ajv.addSchema(pipelineSchema);
    validateTaskConfig = ajv.compile({ $ref: `${String(pipelineSchema.$id)}#/$defs/TaskConfig` });
  }
  return validateTaskConfig;
}

/**
 * The plan for a create request; rejects CC_E_API_BAD_REQUEST naming every problem of the task
 * config and of the declared inputs and outputs.
 */
/** A get of the version a job's input would use now, for `inputs_from` (fly's `--inputs-from`). */
export interface JobInputGet {
  name: string;
  step: GetStep;
}

export function oneOffPlan(request: CreateBuildRequest, jobInputs: readonly JobInputGet[] = []): BuildPlan {
  const validate = taskConfigValidator();
  if (!validate(request.config)) {
    const problems = formatProblems(validate.errors).map((problem) => ({
      path: problem.path ? `config.${problem.path}` : 'config',
      message: problem.message,
    }));
    throw badRequest('config', problems, 'the task config is invalid');
  }
  const config = request.config as {
    inputs?: Array<{ name: string; optional?: boolean }>;
    outputs?: Array<{ name: string }>;
  };
  const taskInputs = config.inputs ?? [];
  const taskOutputs = (config.outputs ?? []).map((output) => output.name);
  const problems: SchemaProblem[] = [];
  request.inputs.forEach((name, i) => {
    if (!taskInputs.some((input) => input.name === name)) {
      problems.push({
        path: `inputs[${i}]`,
        message: `names ${JSON.stringify(name)}, which the task does not take`,
      });
    }
  });
  // Inputs not uploaded come from the job (inputs_from) when it has an input of that name.
  const fromJob = jobInputs.filter(
    (get) => !request.inputs.includes(get.name) && taskInputs.some((input) => input.name === get.name),
  );
  for (const input of taskInputs) {
    const provided = request.inputs.includes(input.name) || fromJob.some((get) => get.name === input.name);
    if (input.optional !== true && !provided) {
      problems.push({
        path: 'inputs',
        message:
          request.inputs_from === undefined
            ? `lacks ${JSON.stringify(input.name)}, which the task needs: upload it (it is not optional)`
            : `lacks ${JSON.stringify(input.name)}, which the task needs: upload it, or give the job an input of that name`,
      });
    }
  }
  request.outputs.forEach((name, i) => {
    if (!taskOutputs.includes(name)) {
      problems.push({
        path: `outputs[${i}]`,
        message: `names ${JSON.stringify(name)}, which the task does not produce`,
      });
    }
  });
  const first = problems[0];
  if (first !== undefined) {
    throw badRequest(
      first.path.replace(/\[\d+\]$/, ''),
      problems,
      'the inputs and outputs do not fit the task',
    );
  }

  const identity = (names: readonly string[]) => Object.fromEntries(names.map((name) => [name, name]));
  const root: TaskStep = {
    id: kStepId,
    type: 'task',
    name: kStepName,
    config: request.config,
    privileged: request.privileged === true,
    inputMapping: identity(request.inputs),
    outputMapping: identity(request.outputs),
  };
  if (fromJob.length === 0) return { schemaVersion: 1, root };
  // The job's inputs are fetched first, under their own names, then the task runs.
  return {
    schemaVersion: 1,
    root: { id: 'inputs-from', type: 'do', steps: [...fromJob.map((get) => get.step), root] },
  };
}

/** The one-off task step: the plan's root, or the last step after the gets of `inputs_from`. */
export function oneOffTaskStep(plan: unknown): Record<string, unknown> | null {
  if (!isRecord(plan)) return null;
  let root = plan.root;
  if (isRecord(root) && root.type === 'do' && Array.isArray(root.steps)) root = root.steps.at(-1);
  return isRecord(root) && root.type === 'task' && root.id === kStepId ? root : null;
}

/** What a one-off build's client uploads and downloads. */
export interface OneOffArtifacts {
  inputs: string[];
  outputs: string[];
}

/** The declared inputs and outputs of a one-off build; null for a job build or another plan. */
export function oneOffArtifacts(build: Pick<BuildRow, 'job_id' | 'plan'>): OneOffArtifacts | null {
  if (build.job_id !== null) return null;
  const root = oneOffTaskStep(build.plan);
  if (root === null || !isRecord(root.config)) return null;
  return {
    inputs: mappedNames(root.config.inputs, root.inputMapping),
    outputs: mappedNames(root.config.outputs, root.outputMapping),
  };
}

/**
 * The task's inputs (or outputs) that have a mapping, in the task's order: jsonb keeps no key
 * order, so the mapping's own order is lost once stored.
 */
function mappedNames(declared: unknown, mapping: unknown): string[] {
  if (!Array.isArray(declared) || !isRecord(mapping)) return [];
  return declared.flatMap((entry: unknown) =>
    isRecord(entry) && typeof entry.name === 'string' && Object.hasOwn(mapping, entry.name)
      ? [entry.name]
      : [],
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `problems` carry paths from the request body's root; `field` names the first offending field. */
function badRequest(field: string, problems: SchemaProblem[], what: string): ConveyorError {
  const list = problems.map((problem) => `${problem.path} ${problem.message}`);
  return new ConveyorError('CC_E_API_BAD_REQUEST', `${what}: ${list.join('; ')}`, {
    details: { field, problems },
  });
}
