import type { InParallelStep } from '../plan/build-plan.generated.js';
import type { BuildContext } from './build-context.js';
import { childSignal, interrupted } from './interruption.js';
import { type Fault, hasFault, isCanceled, type StepOutcome } from './outcome.js';
import type { RunScope } from './run-scope.js';

export interface ParallelRun {
  count: number;
  /** How many run at once. */
  limit: number;
  /** On the first failure or error: start nothing more, and interrupt the ones running. */
  failFast: boolean;
  run(index: number, signal: AbortSignal): Promise<StepOutcome>;
}

/**
 * Run `count` steps, at most `limit` at a time, as Concourse's parallelExecutor: fail-fast
 * cancellations of siblings are not errors of the whole (they only mean one failed), but an
 * interruption from above is.
 */
export async function runParallel(spec: ParallelRun, signal: AbortSignal): Promise<StepOutcome> {
  const cancel = childSignal(signal);
  const slots = new Slots(spec.limit);
  const running: Array<Promise<StepOutcome>> = [];
  let failures = 0;

  for (let index = 0; index < spec.count; index++) {
    await slots.acquire();
    if (cancel.signal.aborted) {
      slots.release();
      break;
    }
    running.push(
      (async () => {
        try {
          const outcome = await spec.run(index, cancel.signal);
          if (!outcome.ok) {
            failures++;
            // Cancel before the slot is freed, so the loop never starts one more step.
            if (spec.failFast) cancel.abort('canceled');
          }
          return outcome;
        } finally {
          slots.release();
        }
      })(),
    );
  }

  const outcomes = await Promise.all(running);
  const faults: Fault[] = outcomes.filter((o) => hasFault(o) && !isCanceled(o)).flatMap((o) => o.faults);
  if (signal.aborted) return interrupted(signal);
  if (faults.length > 0) return { ok: false, faults };
  return { ok: failures === 0, faults: [] };
}

export function runInParallel(
  build: BuildContext,
  step: InParallelStep,
  scope: RunScope,
  signal: AbortSignal,
): Promise<StepOutcome> {
  return runParallel(
    {
      count: step.steps.length,
      limit: step.limit && step.limit > 0 ? step.limit : step.steps.length,
      failFast: step.failFast === true,
      run: (index, childSignal) =>
        build.run(step.steps[index] as (typeof step.steps)[number], scope, childSignal),
    },
    signal,
  );
}

/** A counting semaphore: the steps in flight. */
class Slots {
  #free: number;
  readonly #waiting: Array<() => void> = [];

  constructor(limit: number) {
    this.#free = Math.max(1, limit);
  }

  async acquire(): Promise<void> {
    if (this.#free > 0) {
      this.#free--;
      return;
    }
    await new Promise<void>((resolve) => this.#waiting.push(resolve));
  }

  release(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#free++;
  }
}
