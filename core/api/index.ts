/** @conveyor/core/api: the HTTP API server (fastify), without a socket; core/server listens. */

export { API_PREFIX, buildApi } from './build-api.js';
export { type ErrorReply, toErrorReply } from './error-handler.js';
export type { Build } from './generated/build.generated.js';
export type { BuildEventMessage } from './generated/build-event-message.generated.js';
export type { CheckResponse } from './generated/check-response.generated.js';
export type { Container } from './generated/container.generated.js';
export type { CreateBuildRequest } from './generated/create-build-request.generated.js';
export type { ErrorResponse } from './generated/error.generated.js';
export type { HealthResponse } from './generated/health.generated.js';
export type { InfoResponse } from './generated/info.generated.js';
export type { Job } from './generated/job.generated.js';
export type { Pipeline } from './generated/pipeline.generated.js';
export type { PipelineConfigProblem } from './generated/pipeline-config-problem.generated.js';
export type { PluginListResponse } from './generated/plugin-list.generated.js';
export type { PluginSummary } from './generated/plugin-summary.generated.js';
export type { Resource } from './generated/resource.generated.js';
export type { ResourceVersion } from './generated/resource-version.generated.js';
export type { Version } from './generated/version.generated.js';
export type { Volume } from './generated/volume.generated.js';
export { buildOpenApiDocument } from './openapi-document.js';
export { API_VERSION } from './openapi-options.js';
export {
  buildInputsMissing,
  buildInputUnknown,
  buildNotFinished,
  buildNotFound,
  buildNotPending,
  buildOutputNotFound,
  type ContainerChoice,
  checkFailed,
  containerNotFound,
  interceptAmbiguous,
  jobBuildNotFound,
  jobNotFound,
  manualTriggerDisabled,
  pipelineConfigConflict,
  pipelineNotFound,
  resourceNotFound,
  resourcePinnedInConfig,
  resourceVersionNotFound,
  teamNotFound,
  ttyUnsupported,
} from './service-errors.js';
export type {
  ArtifactStreamOptions,
  BuildEventRecord,
  BuildEventsOptions,
  BuildService,
  CheckInput,
  ContainerFilter,
  ContainerService,
  InterceptExitStatus,
  InterceptIo,
  InterceptRequest,
  InterceptService,
  JobRef,
  JobService,
  OneOffBuildService,
  Page,
  PageRequest,
  PipelineRef,
  PipelineService,
  PreparedIntercept,
  ResourceRef,
  ResourceService,
  SetPipelineConfigInput,
  SetPipelineConfigResult,
  TerminalSize,
  VolumeService,
} from './services.js';
export type { ApiDeps, ApiLoggerOptions, ApiOptions, Principal } from './types.js';
