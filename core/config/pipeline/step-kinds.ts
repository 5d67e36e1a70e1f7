import { isRecord } from './findings.js';

/** The step types, in Concourse's precedence (the first found is the step; others are errors). */
export const stepTypes = [
  'task',
  'put',
  'get',
  'set_pipeline',
  'load_var',
  'try',
  'do',
  'in_parallel',
] as const;
export type StepType = (typeof stepTypes)[number];

/** The schema definition of each step type. */
export const stepDefs: Readonly<Record<StepType, string>> = {
  get: 'GetStep',
  put: 'PutStep',
  task: 'TaskStep',
  set_pipeline: 'SetPipelineStep',
  load_var: 'LoadVarStep',
  in_parallel: 'InParallelStep',
  do: 'DoStep',
  try: 'TryStep',
};

/** Hooks, outermost first: the order Concourse nests them around a step (and a job's plan). */
export const hookKeys = ['ensure', 'on_error', 'on_abort', 'on_failure', 'on_success'] as const;
export type HookKey = (typeof hookKeys)[number];

/** Keys any step may carry besides its type's own. */
export const modifierKeys = ['across', 'fail_fast', 'attempts', 'timeout', 'tags', ...hookKeys] as const;

/** Step types Concourse once had and no longer accepts, with what to write instead. */
export const removedStepTypes: Readonly<Record<string, string>> = {
  aggregate: '`aggregate` was removed in Concourse v7 and is not supported; use `in_parallel`',
};

/** A step whose type is known: the validated YAML as the user wrote it. */
export type KnownStep = { type: StepType; config: Record<string, unknown> };

/** The step types a mapping declares, in precedence order. */
export function declaredStepTypes(step: Record<string, unknown>): StepType[] {
  return stepTypes.filter((type) => type in step);
}

/** The one step type of a well-formed step, or undefined. */
export function stepTypeOf(step: unknown): StepType | undefined {
  if (!isRecord(step)) return undefined;
  const declared = declaredStepTypes(step);
  return declared.length === 1 ? declared[0] : undefined;
}

/** The steps directly inside a step (not through hooks), with the path segments to each. */
export function childSteps(
  type: StepType,
  step: Record<string, unknown>,
): Array<[ReadonlyArray<string | number>, unknown]> {
  const children: Array<[ReadonlyArray<string | number>, unknown]> = [];
  if (type === 'do' && Array.isArray(step.do)) {
    step.do.forEach((child, i) => {
      children.push([['do', i], child]);
    });
  } else if (type === 'try' && step.try !== undefined) {
    children.push([['try'], step.try]);
  } else if (type === 'in_parallel') {
    const config = step.in_parallel;
    if (Array.isArray(config)) {
      config.forEach((child, i) => {
        children.push([['in_parallel', i], child]);
      });
    } else if (isRecord(config) && Array.isArray(config.steps)) {
      config.steps.forEach((child, i) => {
        children.push([['in_parallel', 'steps', i], child]);
      });
    }
  }
  return children;
}
