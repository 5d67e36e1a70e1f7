import type { HookStep } from '../plan/build-plan.generated.js';
import type { BuildContext } from './build-context.js';
import { backgroundSignal, interrupted } from './interruption.js';
import { hasFault, isCanceled, type StepOutcome } from './outcome.js';
import type { RunScope } from './run-scope.js';

/**
 * A step with a hook (`next`), with Concourse's semantics for what the hook's own outcome does:
 *
 * - on_success: runs after success; the hook's outcome becomes the step's (a failing hook fails it).
 * - on_failure: runs after a failure; the step stays failed, unless the hook errors (then errored).
 * - on_error: runs after an error or a timeout, not an abort; the step stays errored.
 * - on_abort: runs after an abort; its outcome is ignored, the step stays aborted.
 * - ensure: always runs; the step succeeds only if both do, errors if either errors, and stays
 *   aborted if it was.
 *
 * Hooks that must run after an abort run under a signal that never fires (Go's
 * context.Background), so the abort that triggered them does not stop them.
 */
export async function runHook(
  build: BuildContext,
  step: HookStep,
  scope: RunScope,
  signal: AbortSignal,
): Promise<StepOutcome> {
  const outcome = await build.run(step.step, scope, signal);
  switch (step.hook) {
    case 'on_success': {
      if (hasFault(outcome) || !outcome.ok) return outcome;
      if (signal.aborted) return interrupted(signal);
      return build.run(step.next, scope, signal);
    }
    case 'on_failure': {
      if (hasFault(outcome) || outcome.ok) return outcome;
      const hook = await build.run(step.next, scope, signal);
      return hasFault(hook) ? { ok: false, faults: hook.faults } : outcome;
    }
    case 'on_error': {
      if (!hasFault(outcome) || isCanceled(outcome)) return outcome;
      const hook = await build.run(step.next, scope, backgroundSignal());
      return { ok: outcome.ok, faults: [...outcome.faults, ...hook.faults] };
    }
    case 'on_abort': {
      if (isCanceled(outcome)) await build.run(step.next, scope, backgroundSignal());
      return outcome;
    }
    case 'ensure': {
      const hook = await build.run(step.next, scope, signal.aborted ? backgroundSignal() : signal);
      if (signal.aborted) return interrupted(signal);
      const faults = [...outcome.faults, ...hook.faults];
      if (faults.length > 0) return { ok: false, faults };
      return { ok: outcome.ok && hook.ok, faults: [] };
    }
  }
}
