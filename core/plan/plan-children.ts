import type { PlanStep } from './build-plan.generated.js';

/** The steps directly inside a build plan step, in plan order (a hook's step, then its next). */
export function planStepChildren(step: PlanStep): PlanStep[] {
  switch (step.type) {
    case 'in_parallel':
    case 'do':
      return step.steps;
    case 'try':
    case 'across':
    case 'timeout':
    case 'retry':
      return [step.step];
    case 'hook':
      return [step.step, step.next];
    default:
      return [];
  }
}
