/** The pipeline state queries: pipelines, jobs, resources and versions, builds, events, checks, gc. */

export { type BuildContextRow, loadBuildContexts } from './build-contexts.js';
export {
  type AppendedEvents,
  BUILD_EVENTS_CHANNEL,
  type BuildEventBatch,
  insertBuildEventBatches,
  insertBuildEvents,
  type StoredBuildEvent,
  selectBuildEvents,
  statusEvent,
} from './build-events.js';
export {
  type BuildOutputInput,
  listBuildInputs,
  listBuildOutputs,
  saveBuildOutput,
} from './build-versions.js';
export {
  BUILD_ABORTS_CHANNEL,
  type BuildInputToSave,
  type BuildToFinish,
  createJobBuild,
  createOneOffBuild,
  type FinishBuildOptions,
  finishBuild,
  finishBuilds,
  getBuild,
  getBuilds,
  getJobBuild,
  type HeartbeatResult,
  heartbeatBuild,
  type JobBuildInput,
  listBuilds,
  listJobBuilds,
  listPipelineBuilds,
  type OneOffBuildInput,
  replacePendingBuildInputs,
  requestBuildAbort,
  rerunBuild,
} from './builds.js';
export {
  abandonCacheVolume,
  type CacheVolumeRecord,
  claimResourceCache,
  claimTaskCache,
  markResourceCacheReady,
  markStaleCaches,
  markTaskCacheReady,
  type ReadyResourceCache,
  type TaskCacheKey,
  useResourceCache,
  useTaskCache,
} from './caches.js';
export {
  type ClaimedCheckRow,
  claimDueChecks,
  claimResourceCheck,
  finishCheck,
  releaseCheck,
} from './checks.js';
export { claimStartableBuild, claimStartableBuilds } from './claim-startable-build.js';
export {
  type ContainerFilter,
  type ContainerRecord,
  deleteContainerRecord,
  labelContainerRecords,
  listContainerRecords,
  recordContainer,
  setContainerState,
} from './containers.js';
export { expireBuildLeases, listBuildLeaseOwners } from './expire-leases.js';
export {
  EXPIRES_LABEL,
  KEEP_UNTIL_LABEL,
  knownContainerHandles,
  knownVolumeHandles,
  listDestroyableVolumes,
  listDestroyingContainers,
  markGarbage,
} from './garbage.js';
export { installationId } from './installation.js';
export {
  findActiveJobId,
  getJob,
  getJobByName,
  listJobs,
  pauseJob,
  unpauseJob,
} from './jobs.js';
export {
  archivePipeline,
  destroyPipeline,
  getPipeline,
  getPipelineById,
  listPipelines,
  type PipelineWithText,
  pausePipeline,
  unpausePipeline,
} from './pipelines.js';
export { type RecoveredBuild, recoverInterruptedBuilds } from './recover-interrupted-builds.js';
export {
  findResourceVersion,
  getResource,
  getResourceByName,
  getResourceVersionsByIds,
  listResources,
  listResourceVersions,
  type PinOptions,
  pinResourceVersion,
  requestResourceCheck,
  setResourceVersionEnabled,
  unpinResource,
} from './resources.js';
export type {
  BuildRow,
  BuildStatus,
  BuildSummary,
  BuildVersionRow,
  ContainerRow,
  ContainerState,
  FinishedBuildStatus,
  JobRow,
  JobSummaryRow,
  Page,
  PageOptions,
  PipelineRow,
  ResourceRow,
  ResourceVersionRow,
  Version,
  VersionMetadata,
  VolumeRow,
  VolumeState,
} from './rows.js';
export { FINISHED_STATUSES, isFinishedStatus } from './rows.js';
export { type SavePipelineInput, type SavePipelineResult, savePipeline } from './save-pipeline.js';
export { type SavedVersions, saveResourceVersions, type VersionToSave } from './save-resource-versions.js';
export {
  requestJobScheduling,
  requestPipelineScheduling,
  requestResourceScheduling,
  requestSchedulingAfterBuild,
  requestSchedulingAfterBuilds,
} from './schedule-requests.js';
export {
  type CandidateVersion,
  claimJobToSchedule,
  inputKey,
  type JobInputRow,
  lastUsedCheckOrder,
  latestVersion,
  loadJobInputs,
  loadPassedVersions,
  lockJobForScheduling,
  markJobScheduled,
  nextEveryVersion,
  PASSED_BUILDS_LOOKBACK,
  type PassedVersionRow,
  pendingScheduledBuild,
  pinnedVersion,
  type SchedulableJobRow,
  usedInputs,
} from './scheduling.js';
export { applyTrackedChanges, type TrackedChange } from './tracked-states.js';
export { withTransaction } from './transaction.js';
export {
  deleteVolumeRecord,
  labelVolumeRecord,
  labelVolumeRecords,
  listVolumeRecords,
  recordVolume,
  setVolumeState,
  type VolumeFilter,
  type VolumeRecord,
} from './volumes.js';
