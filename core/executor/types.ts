import type { BuildMetadata, VolumeRef } from '@conveyor/plugin-api';
import type { BuildEvent } from '../events/build-event.generated.js';
import type { PluginClient } from '../plugins/index.js';

/** How a build ended, as its final status. */
export type BuildResult = 'succeeded' | 'failed' | 'errored' | 'aborted';

/** A container or volume the executor made, as the caller records it for GC. */
export interface TrackedResource {
  kind: 'container' | 'volume';
  handle: string;
  state: 'creating' | 'created' | 'destroying' | 'gone';
}

/** What `interpolate` may resolve besides credentials: the build's local vars (`((.:name))`). */
export interface InterpolationScope {
  localVars: Record<string, unknown>;
}

export interface SetPipelineRequest {
  name: string;
  team?: string;
  configText: string;
  vars: Record<string, unknown>;
}

/**
 * Everything the executor needs from its caller. The executor stores nothing itself: events,
 * resource records and pipelines go through these functions.
 */
export interface ExecutorDeps {
  build: BuildMetadata;
  runtime: PluginClient<'runtime'>;
  volumes: PluginClient<'volume'>;
  /** The resource-type plugin for a plan's `resourceType` (a plugin reference or a pipeline type). */
  resourceType(type: string): PluginClient<'resource-type'>;
  /** Stores one event; events arrive in order, already redacted. */
  emit(event: BuildEvent): Promise<void>;
  /**
   * Stores several events at once, in order (one transaction); events made while a write is in
   * flight are batched. Used instead of `emit` when given.
   */
  emitBatch?(events: BuildEvent[]): Promise<void>;
  /** Resolves `((vars))` (credentials and local vars); rejects on a missing var. */
  interpolate<T>(value: T, scope: InterpolationScope): Promise<T>;
  /** Hides the secrets resolved so far in a text. */
  redact(text: string): string;
  /** Records a container's or volume's state, so GC can reap what a crash leaves. */
  track(resource: TrackedResource): Promise<void>;
  /** Saves a pipeline (set_pipeline); absent where pipelines cannot be set. */
  setPipeline?(request: SetPipelineRequest): Promise<{ changed: boolean }>;
  /** The clock, in milliseconds; Date.now by default. */
  now?(): number;
}

/** A resource the caller may keep past the build (e.g. to intercept a failed task's container). */
export interface KeepCandidate {
  kind: 'container' | 'volume';
  handle: string;
  /** The plan step that made it. */
  stepId: string;
}

export interface RunBuildOptions {
  /** Aborts the build: processes get SIGTERM then SIGKILL, on_abort and ensure hooks run. */
  signal: AbortSignal;
  /** Containers and volumes for which this answers true are left in place (still tracked as created). */
  keep?: ((resource: KeepCandidate) => boolean) | undefined;
  /** Artifacts that exist before the build starts (a one-off build's uploaded inputs), by name. */
  artifacts?: ReadonlyMap<string, VolumeRef> | undefined;
  /** Called once the plan has run, before anything is released, with every artifact by name. */
  onArtifacts?: ((artifacts: ReadonlyMap<string, VolumeRef>) => void) | undefined;
  /** How long a process has between SIGTERM and SIGKILL on timeout or abort. Default 10 s. */
  killGracePeriodMs?: number | undefined;
}
