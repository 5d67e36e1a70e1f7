import type { BuildMetadata, IdMapping, Metadata, runtime, Version, VolumeRef } from '@conveyor/plugin-api';
import type { BuildEvent } from '../events/build-event.generated.js';
import type { PluginClient } from '../plugins/index.js';

/** The image a pipeline resource type defined by a Concourse resource-type image runs in. */
export interface ResourceTypeImage {
  /** The pipeline's name for the type, for messages. */
  name: string;
  /** The image, its source's `((vars))` resolved (a registry password is a credential). */
  image(): Promise<runtime.Image>;
  privileged: boolean;
}

/** How a build ended, as its final status. */
export type BuildResult = 'succeeded' | 'failed' | 'errored' | 'aborted';

/** A container or volume the executor made, as the caller records it for GC. */
export interface TrackedResource {
  kind: 'container' | 'volume';
  handle: string;
  state: 'creating' | 'created' | 'destroying' | 'gone';
  /** A copy-on-write child's parent volume, when it is created: the parent must outlive it. */
  parent?: string | undefined;
}

/** What a resource cache is for: one version of one resource, fetched with these params. */
export interface ResourceCacheRequest {
  /** The resource type plugin that fetches it, as `name@version`. */
  resourceType: string;
  source: Record<string, unknown>;
  version: Version;
  params?: Record<string, unknown> | undefined;
  /** The user namespace the cached files were shifted into, if any: part of the key. */
  idMapping?: IdMapping | undefined;
}

/**
 * A resource cache as a get finds it: `ready` to share (the get gives its step a child of it),
 * to `fill` (this build fetches into it, then says `ready` or `abandon`), or `none` (another
 * build is filling it: fetch into a volume of the build's own).
 */
export type ResourceCacheSlot =
  | { state: 'ready'; volume: VolumeRef; version: Version; metadata?: Metadata | undefined }
  | {
      state: 'fill';
      volume: VolumeRef;
      ready(fetched: { version: Version; metadata?: Metadata | undefined }): Promise<void>;
      abandon(): Promise<void>;
    }
  | { state: 'none' };

/** Volumes that outlive a build: resource caches and task caches. */
export interface BuildCaches {
  resource(request: ResourceCacheRequest): Promise<ResourceCacheSlot>;
  /**
   * The persistent volume of a task step's cache path for this build's job; null when there is
   * none to give (a one-off build, or another build is creating it): the task gets an empty one.
   */
  task(
    stepName: string,
    path: string,
    options?: { idMapping?: IdMapping | undefined },
  ): Promise<VolumeRef | null>;
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
  /**
   * The image of a plan's resource type when it is a Concourse resource-type image (a pipeline
   * resource type of type registry-image or docker-image), which the `concourse` plugin runs
   * through host.run; undefined for the types plugins implement.
   */
  resourceTypeImage?(type: string): ResourceTypeImage | undefined;
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
  /** Labels every container and volume of the build carries besides the executor's own (an installation's). */
  labels?: Record<string, string> | undefined;
  /** Resource and task caches; without them every get fetches and every task cache starts empty. */
  caches?: BuildCaches | undefined;
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
  /** How the build ended. */
  result: BuildResult;
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
