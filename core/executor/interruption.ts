import { faulted, type StepOutcome } from './outcome.js';

/**
 * The reason a step's signal carries when it is interrupted. Signals nest like Go contexts: a
 * step's signal is its parent's combined with its own (a timeout, a fail-fast cancel), and the
 * first to fire gives the reason.
 */
class Interruption extends Error {
  readonly kind: 'canceled' | 'deadline';

  constructor(kind: 'canceled' | 'deadline') {
    super(kind === 'deadline' ? 'timeout exceeded' : 'interrupted');
    this.name = 'Interruption';
    this.kind = kind;
  }
}

/** Why `signal` fired; an abort from outside (the caller's signal) is a cancellation. */
function interruptionKind(signal: AbortSignal): 'canceled' | 'deadline' {
  const reason: unknown = signal.reason;
  return reason instanceof Interruption ? reason.kind : 'canceled';
}

/** The outcome of a step cut short by its signal. */
export function interrupted(signal: AbortSignal): StepOutcome {
  return faulted([{ kind: interruptionKind(signal) }]);
}

/** A signal that never fires: hooks that must run even after an abort run under it (Go's context.Background). */
export function backgroundSignal(): AbortSignal {
  return new AbortController().signal;
}

/** A child of `parent` that can also be aborted on its own, with a reason. */
export function childSignal(parent: AbortSignal): {
  signal: AbortSignal;
  abort(kind: 'canceled' | 'deadline'): void;
} {
  const controller = new AbortController();
  return {
    signal: AbortSignal.any([parent, controller.signal]),
    abort: (kind) => {
      if (!controller.signal.aborted) controller.abort(new Interruption(kind));
    },
  };
}
