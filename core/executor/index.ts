/**
 * @conveyor/core/executor: runs a build's plan with the configured runtime and volume plugins,
 * with Concourse's semantics for every step, modifier and hook.
 */
export {
  type ResourceContainers,
  type ResourceImageRunOptions,
  resourceImageHost,
} from './resource-host.js';
export { ARTIFACT_LABEL, ROLE_LABEL, STEP_LABEL } from './resource-ledger.js';
export { runBuild } from './run-build.js';
export { runtimeInfoOnce } from './runtime-info.js';
export { type StopProcessOptions, stopProcess } from './stop-process.js';
export type {
  BuildCaches,
  BuildResult,
  ExecutorDeps,
  InterpolationScope,
  KeepCandidate,
  ResourceCacheRequest,
  ResourceCacheSlot,
  ResourceTypeImage,
  RunBuildOptions,
  SetPipelineRequest,
  TrackedResource,
} from './types.js';
export { type ReadVolumeFileOptions, readVolumeFile } from './volume-files.js';
