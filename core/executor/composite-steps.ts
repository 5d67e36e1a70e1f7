import type { DoStep, RetryStep, TimeoutStep, TryStep } from '../plan/build-plan.generated.js';
import type { BuildContext } from './build-context.js';
import { childSignal, interrupted } from './interruption.js';
import { hasFault, isCanceled, type StepOutcome, succeeded } from './outcome.js';
import type { RunScope } from './run-scope.js';

/** do: steps in order, stopping at the first that does not succeed. */
export async function runDo(
  build: BuildContext,
  step: DoStep,
  scope: RunScope,
  signal: AbortSignal,
): Promise<StepOutcome> {
  for (const child of step.steps) {
    if (signal.aborted) return interrupted(signal);
    const outcome = await build.run(child, scope, signal);
    if (!outcome.ok || hasFault(outcome)) return outcome;
  }
  return succeeded;
}

/** try: failures and errors (timeouts included) are swallowed; an abort is not. */
export async function runTry(
  build: BuildContext,
  step: TryStep,
  scope: RunScope,
  signal: AbortSignal,
): Promise<StepOutcome> {
  const outcome = await build.run(step.step, scope, signal);
  if (isCanceled(outcome)) return { ok: false, faults: outcome.faults };
  return succeeded;
}

/**
 * timeout: the step runs under a signal that fires after the duration with a `deadline` reason;
 * the step interrupts itself (killing its processes) and ends errored with "timeout exceeded".
 */
export async function runTimeout(
  build: BuildContext,
  step: TimeoutStep,
  scope: RunScope,
  signal: AbortSignal,
): Promise<StepOutcome> {
  const deadline = childSignal(signal);
  const timer = setTimeout(() => deadline.abort('deadline'), step.durationMs);
  try {
    return await build.run(step.step, scope, deadline.signal);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * attempts: run the step again while it fails or errors (a timeout inside it included), up to
 * `attempts` times in all; an abort stops it at once. Each attempt registers its artifacts over
 * the previous one's, so the last attempt's win.
 */
export async function runRetry(
  build: BuildContext,
  step: RetryStep,
  scope: RunScope,
  signal: AbortSignal,
): Promise<StepOutcome> {
  let outcome: StepOutcome = succeeded;
  for (let attempt = 1; attempt <= step.attempts; attempt++) {
    if (signal.aborted) return interrupted(signal);
    outcome = await build.run(step.step, scope, signal);
    if (signal.aborted) return interrupted(signal);
    if (hasFault(outcome)) continue;
    if (outcome.ok) break;
  }
  return outcome;
}
