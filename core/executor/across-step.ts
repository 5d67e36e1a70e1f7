import { ConveyorError } from '../errors/index.js';
import type { AcrossStep, PlanStep } from '../plan/build-plan.generated.js';
import { planStepChildren } from '../plan/plan-children.js';
import type { BuildContext } from './build-context.js';
import type { StepOutcome } from './outcome.js';
import { runParallel } from './parallel.js';
import type { RunScope } from './run-scope.js';

/**
 * across: the step once per combination of the vars' values (their cartesian product, the last
 * var varying fastest), each in a child scope where the vars are local vars (`((.:name))`) and
 * its artifacts stay. As in Concourse the combinations nest one level per var, each level running
 * that var's values `max_in_flight` at a time (default 1), and fail_fast applies at every level.
 */
export async function runAcross(
  build: BuildContext,
  step: AcrossStep,
  scope: RunScope,
  signal: AbortSignal,
): Promise<StepOutcome> {
  const values: unknown[][] = [];
  for (const v of step.vars) {
    if (scope.hasLocalVar(v.var)) {
      build.events.log(
        { id: step.id, source: 'stderr' },
        `WARNING: across step shadows local var '${v.var}'\n`,
      );
    }
    const resolved: unknown = await build.interpolate(
      v.values as unknown,
      scope,
      `the values of across var ${v.var}`,
    );
    if (!Array.isArray(resolved)) {
      throw new ConveyorError(
        'CC_E_EXEC_ACROSS_VALUES_INVALID',
        `the values of across var ${JSON.stringify(v.var)} must be a list, but are ${describe(resolved)}`,
        { details: { var: v.var } },
      );
    }
    values.push(resolved);
  }
  const combinations = cartesianProduct(values);
  const templateIds = collectIds(step.step);

  const level = (varIndex: number, first: number, levelSignal: AbortSignal): Promise<StepOutcome> => {
    const spec = step.vars[varIndex];
    const maxInFlight = spec?.maxInFlight;
    const perValue = values.slice(varIndex + 1).reduce((n, list) => n * list.length, 1);
    const valueCount = values[varIndex]?.length ?? 0;
    const last = varIndex === step.vars.length - 1;
    return runParallel(
      {
        count: valueCount,
        limit: maxInFlight === 'all' ? valueCount : maxInFlight && maxInFlight > 0 ? maxInFlight : 1,
        failFast: step.failFast === true,
        run: (i, childSignal) => {
          if (!last) return level(varIndex + 1, first + i * perValue, childSignal);
          const index = first + i;
          const substep = withSuffix(step.step, `/${index}`, templateIds);
          const local = scope.child();
          for (const [j, v] of step.vars.entries()) local.setLocalVar(v.var, combinations[index]?.[j]);
          return build.run(substep, local, childSignal);
        },
      },
      levelSignal,
    );
  };
  return step.vars.length === 0 ? build.run(step.step, scope.child(), signal) : level(0, 0, signal);
}

/** [[a1, a2], [b1]] → [[a1, b1], [a2, b1]]: the last var varies fastest. */
function cartesianProduct(values: readonly (readonly unknown[])[]): unknown[][] {
  let product: unknown[][] = [[]];
  for (const list of values) product = product.flatMap((combination) => list.map((v) => [...combination, v]));
  return product;
}

function collectIds(step: PlanStep, into = new Set<string>()): Set<string> {
  into.add(step.id);
  for (const child of planStepChildren(step)) collectIds(child, into);
  return into;
}

/** A copy of the template whose ids (and references to them) carry the combination's suffix. */
function withSuffix(step: PlanStep, suffix: string, templateIds: ReadonlySet<string>): PlanStep {
  const copy = { ...step, id: `${step.id}${suffix}` } as PlanStep;
  switch (copy.type) {
    case 'in_parallel':
    case 'do':
      copy.steps = copy.steps.map((s) => withSuffix(s, suffix, templateIds));
      break;
    case 'try':
    case 'timeout':
    case 'retry':
      copy.step = withSuffix(copy.step, suffix, templateIds);
      break;
    case 'across':
      copy.step = withSuffix(copy.step, suffix, templateIds);
      break;
    case 'hook':
      copy.step = withSuffix(copy.step, suffix, templateIds);
      copy.next = withSuffix(copy.next, suffix, templateIds);
      break;
    case 'get':
      if (copy.fromPut && templateIds.has(copy.fromPut)) copy.fromPut = `${copy.fromPut}${suffix}`;
      break;
    default:
      break;
  }
  return copy;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return 'a map';
  return `a ${typeof value}`;
}
