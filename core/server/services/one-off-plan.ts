import { createAjv, formatProblems, type SchemaProblem } from '@conveyor/plugin-api';
import type { ValidateFunction } from 'ajv/dist/2020.js';
import type { CreateBuildRequest } from '../../api/index.js';
import { parseGoDuration, pipelineSchema } from '../../config/index.js';
import type { BuildRow } from '../../db/index.js';
import { ConveyorError } from '../../errors/index.js';
import type { BuildPlan, TaskStep } from '../../plan/index.js';

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
export function oneOffPlan(request: CreateBuildRequest): BuildPlan {
  const validate = taskConfigValidator();
  if (!validate(request.config)) {
    const problems = formatProblems(validate.errors).map((problem) => ({
      path: problem.path ? `config.${problem.path}` : 'config',
      message: problem.message,
    }));
    throw badRequest('config', problems, 'the task config is invalid');
  }
  if (request.inputs_from !== undefined) {
    throw badRequest(
      'inputs_from',
      [{ path: 'inputs_from', message: 'is not supported yet: upload every input the task needs' }],
      'the request cannot be served',
    );
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
  for (const input of taskInputs) {
    if (input.optional !== true && !request.inputs.includes(input.name)) {
      problems.push({
        path: 'inputs',
        message: `lacks ${JSON.stringify(input.name)}, which the task needs: upload it (it is not optional)`,
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
  return { schemaVersion: 1, root };
}

/** What a one-off build's client uploads and downloads. */
export interface OneOffArtifacts {
  inputs: string[];
  outputs: string[];
}

/** The declared inputs and outputs of a one-off build; null for a job build or another plan. */
export function oneOffArtifacts(build: Pick<BuildRow, 'job_id' | 'plan'>): OneOffArtifacts | null {
  if (build.job_id !== null || !isRecord(build.plan)) return null;
  const root = build.plan.root;
  if (!isRecord(root) || root.type !== 'task' || root.id !== kStepId || !isRecord(root.config)) return null;
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
