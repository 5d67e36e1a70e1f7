import type { runtime } from '@conveyor/plugin-api';
import { ConveyorError, toError } from '../errors/index.js';
import type { PlanStep } from '../plan/build-plan.generated.js';
import { runAcross } from './across-step.js';
import type { BuildContext, PutResult } from './build-context.js';
import { runDo, runRetry, runTimeout, runTry } from './composite-steps.js';
import { EventSink } from './event-sink.js';
import { runGetStep } from './get-step.js';
import { runHook } from './hook-step.js';
import { interrupted } from './interruption.js';
import { runLoadVarStep } from './load-var-step.js';
import { errored, type Fault, hasFault, type StepOutcome } from './outcome.js';
import { runInParallel } from './parallel.js';
import { runPutStep } from './put-step.js';
import { SecretSet } from './redaction.js';
import { ResourceLedger } from './resource-ledger.js';
import type { RunScope } from './run-scope.js';
import { runtimeInfoOnce } from './runtime-info.js';
import { runSetPipelineStep } from './set-pipeline-step.js';
import { runTaskStep } from './task-step.js';
import type { ExecutorDeps } from './types.js';

/** How deep a cause chain is followed into an error event's message. */
const MAX_CAUSES = 4;

/** One build's run: the state its steps share, and the walk of its plan. */
export class BuildRun implements BuildContext {
  readonly deps: ExecutorDeps;
  readonly events: EventSink;
  readonly ledger: ResourceLedger;
  readonly secrets = new SecretSet();
  readonly putResults = new Map<string, PutResult>();
  readonly killGracePeriodMs: number;
  readonly #runtimeInfo: () => Promise<runtime.InfoResponse>;

  constructor(deps: ExecutorDeps, killGracePeriodMs: number) {
    this.deps = deps;
    this.killGracePeriodMs = killGracePeriodMs;
    this.events = new EventSink(
      async (events) => {
        if (deps.emitBatch) return deps.emitBatch(events);
        for (const event of events) await deps.emit(event);
      },
      (text) => this.secrets.redact(deps.redact(text)),
      () => deps.now?.() ?? Date.now(),
    );
    this.ledger = new ResourceLedger(deps);
    this.#runtimeInfo = runtimeInfoOnce(deps.runtime);
  }

  runtimeInfo(): Promise<runtime.InfoResponse> {
    return this.#runtimeInfo();
  }

  async interpolate<T>(value: T, scope: RunScope, what: string): Promise<T> {
    try {
      return await this.deps.interpolate(value, { localVars: scope.localVars() });
    } catch (error) {
      throw new ConveyorError(
        'CC_E_EXEC_INTERPOLATION_FAILED',
        `cannot resolve the vars of ${what}: ${toError(error).message}`,
        {
          cause: error,
        },
      );
    }
  }

  run(step: PlanStep, scope: RunScope, signal: AbortSignal): Promise<StepOutcome> {
    switch (step.type) {
      case 'get':
        return this.#leaf(step, signal, () => runGetStep(this, step, scope, signal));
      case 'put':
        return this.#leaf(step, signal, () => runPutStep(this, step, scope, signal));
      case 'task':
        return this.#leaf(step, signal, () => runTaskStep(this, step, scope, signal));
      case 'load_var':
        return this.#leaf(step, signal, () => runLoadVarStep(this, step, scope));
      case 'set_pipeline':
        return this.#leaf(step, signal, () => runSetPipelineStep(this, step, scope));
      case 'do':
        return this.#composite(step, signal, () => runDo(this, step, scope, signal));
      case 'in_parallel':
        return this.#composite(step, signal, () => runInParallel(this, step, scope, signal));
      case 'across':
        return this.#composite(step, signal, () => runAcross(this, step, scope, signal));
      case 'try':
        return this.#composite(step, signal, () => runTry(this, step, scope, signal));
      case 'timeout':
        return this.#composite(step, signal, () => runTimeout(this, step, scope, signal));
      case 'retry':
        return this.#composite(step, signal, () => runRetry(this, step, scope, signal));
      case 'hook':
        return this.#composite(step, signal, () => runHook(this, step, scope, signal));
      default: {
        const unknown = step as { id?: unknown; type?: unknown };
        const error = new ConveyorError(
          'CC_E_EXEC_PLAN_INVALID',
          `step ${String(unknown.id)} has type ${JSON.stringify(unknown.type)}, which this executor does not know`,
        );
        return this.#report(String(unknown.id), errored(error)).then(() => errored(error));
      }
    }
  }

  /**
   * A step that does work itself. It does not start once its signal has fired; whatever it
   * throws makes it errored (or interrupted, when its signal fired); every fault of its own is
   * reported as an error event naming it, as Concourse's LogErrorStep does.
   */
  async #leaf(step: PlanStep, signal: AbortSignal, body: () => Promise<StepOutcome>): Promise<StepOutcome> {
    if (signal.aborted) return interrupted(signal);
    let outcome: StepOutcome;
    try {
      outcome = await body();
      await this.events.flush();
    } catch (error) {
      outcome = signal.aborted ? interrupted(signal) : errored(withStep(step, toError(error)));
    }
    if (hasFault(outcome)) await this.#report(step.id, outcome);
    return outcome;
  }

  /** A step of steps: its children report their own faults; only what it throws itself is reported here. */
  async #composite(
    step: PlanStep,
    signal: AbortSignal,
    body: () => Promise<StepOutcome>,
  ): Promise<StepOutcome> {
    if (signal.aborted) return interrupted(signal);
    try {
      return await body();
    } catch (error) {
      const outcome = signal.aborted ? interrupted(signal) : errored(withStep(step, toError(error)));
      await this.#report(step.id, outcome);
      return outcome;
    }
  }

  async #report(id: string, outcome: StepOutcome): Promise<void> {
    for (const fault of outcome.faults) {
      try {
        await this.events.emit({
          event: 'error',
          data: {
            origin: { id },
            message: this.events.redact(faultMessage(fault)),
            time: this.events.time(),
          },
        });
      } catch {
        // The event store is failing; the outcome already says errored, and nothing more can be shown.
      }
    }
  }
}

/** An error event's message: Concourse's words for interruptions, else the error and its causes. */
export function faultMessage(fault: Fault): string {
  if (fault.kind === 'canceled') return 'interrupted';
  if (fault.kind === 'deadline') return 'timeout exceeded';
  return describeError(fault.error ?? new Error('unknown error'));
}

function describeError(error: Error): string {
  let message = error.message;
  let cause: unknown = error.cause;
  for (let depth = 0; depth < MAX_CAUSES && cause instanceof Error; depth++) {
    if (cause.message && !message.includes(cause.message)) message += `: ${cause.message}`;
    cause = cause.cause;
  }
  return message;
}

/** Name the step in an error that does not already (plugin errors name the plugin, not the step). */
function withStep(step: PlanStep, error: Error): Error {
  const label = stepLabel(step);
  if (error.message.includes(label)) return error;
  const message = `${label}: ${error.message}`;
  return error instanceof ConveyorError
    ? new ConveyorError(error.code, message, { cause: error, details: error.details })
    : new Error(message, { cause: error });
}

function stepLabel(step: PlanStep): string {
  switch (step.type) {
    case 'get':
    case 'put':
    case 'task':
    case 'load_var':
    case 'set_pipeline':
      return `${step.type} ${JSON.stringify(step.name)}`;
    default:
      return `${step.type} step ${step.id}`;
  }
}
