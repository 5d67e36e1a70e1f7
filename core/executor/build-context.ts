import type { runtime, Version } from '@conveyor/plugin-api';
import type { PlanStep } from '../plan/build-plan.generated.js';
import type { EventSink } from './event-sink.js';
import type { StepOutcome } from './outcome.js';
import type { SecretSet } from './redaction.js';
import type { ResourceLedger } from './resource-ledger.js';
import type { RunScope } from './run-scope.js';
import type { ExecutorDeps } from './types.js';

/** What a put produced, for the get that fetches it (`fromPut`). */
export interface PutResult {
  version: Version;
}

/** What every step of a running build shares: its dependencies, events, resources and results. */
export interface BuildContext {
  readonly deps: ExecutorDeps;
  readonly events: EventSink;
  readonly ledger: ResourceLedger;
  /** Secrets the build learned itself (load_var without reveal), redacted with the credential manager's. */
  readonly secrets: SecretSet;
  /** Put results by step id; plan ids are unique in a build, across scopes. */
  readonly putResults: Map<string, PutResult>;
  readonly killGracePeriodMs: number;
  /** The runtime's capabilities, asked once per build. */
  runtimeInfo(): Promise<runtime.InfoResponse>;
  /** Run any step of the plan; never rejects. */
  run(step: PlanStep, scope: RunScope, signal: AbortSignal): Promise<StepOutcome>;
  /** deps.interpolate with the scope's local vars; a failure names `what` was being interpolated. */
  interpolate<T>(value: T, scope: RunScope, what: string): Promise<T>;
}
