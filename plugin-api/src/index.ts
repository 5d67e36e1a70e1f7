/**
 * @conveyor/plugin-api: the versioned contract between Conveyor's core and its plugins. The JSON
 * Schemas in ../schemas are the source of truth; the types below are generated from them.
 */

export { type CallContext, createCallContext, type HostServices } from './call-context.js';
export {
  type DefinePluginOptions,
  defineCredentialManager,
  definePlugin,
  defineResourceType,
  defineRuntime,
  defineVolumeDriver,
  isPluginDefinition,
  type MethodName,
  type MethodRequest,
  type MethodResponse,
  type PluginDefinition,
  type PluginImplementation,
  type PluginMethodsByKind,
} from './define-plugin.js';
export type {
  BuildMetadata,
  Env,
  HostPathLocation,
  IdMapping,
  Labels,
  Metadata,
  PluginKind,
  PvcLocation,
  Version,
  VolumeLocation,
  VolumeRef,
  WorkerLocation,
} from './generated/common.generated.js';
export type * as credentials from './generated/credentials.generated.js';
export type * as host from './generated/host.generated.js';
export type { PluginLimits, PluginManifest } from './generated/manifest.generated.js';
export type {
  CredentialsMethods,
  HostMethods,
  ResourceTypeMethods,
  RuntimeMethods,
  VolumeMethods,
} from './generated/methods.generated.js';
export { hostMethodNames, methodNames } from './generated/methods.generated.js';
export type * as resourceType from './generated/resource-type.generated.js';
export type * as runtime from './generated/runtime.generated.js';
export type * as volume from './generated/volume.generated.js';
export type {
  CallFailed,
  CallOutcome,
  CallSucceeded,
  CallTask,
  DataMessage,
  EndMessage,
  HostCallMessage,
  HostReplyMessage,
  OutputMessage,
  PortMessage,
  ResizeMessage,
  SerializedError,
} from './generated/worker.generated.js';
export { PluginError } from './plugin-error.js';
export { createPluginWorker } from './plugin-worker.js';
export { loadPluginDefinition, runPluginCall, serializeError } from './run-call.js';
export {
  createAjv,
  describeProblems,
  formatProblems,
  hostSchemaValidator,
  manifestSchemaValidator,
  methodSchemaValidator,
  pointerToPath,
  type SchemaProblem,
  toValidator,
  type Validator,
} from './schemas.js';
export { PLUGIN_API_VERSION } from './version.js';
