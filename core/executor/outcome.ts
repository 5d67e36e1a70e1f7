/**
 * A step's outcome, after Concourse's `(ok bool, err error)`: `ok` says whether it succeeded,
 * `faults` whether it errored and why. An interruption is a fault too: `canceled` (the build was
 * aborted, or a fail-fast sibling failed) or `deadline` (a timeout fired), so hooks and composite
 * steps can tell them apart as Concourse does with context.Canceled and DeadlineExceeded.
 */
export type FaultKind = 'canceled' | 'deadline' | 'error';

export interface Fault {
  readonly kind: FaultKind;
  /** Set for `error` faults: what went wrong. */
  readonly error?: Error;
}

export interface StepOutcome {
  readonly ok: boolean;
  readonly faults: readonly Fault[];
}

export const succeeded: StepOutcome = Object.freeze({ ok: true, faults: [] });
export const failed: StepOutcome = Object.freeze({ ok: false, faults: [] });

export function errored(error: Error): StepOutcome {
  return { ok: false, faults: [{ kind: 'error', error }] };
}

export function faulted(faults: readonly Fault[]): StepOutcome {
  return { ok: false, faults };
}

export function hasFault(outcome: StepOutcome): boolean {
  return outcome.faults.length > 0;
}

/** Concourse's errors.Is(err, context.Canceled): any part of the fault is a cancellation. */
export function isCanceled(outcome: StepOutcome): boolean {
  return outcome.faults.some((fault) => fault.kind === 'canceled');
}
