/**
 * @conveyor/core/config: the server configuration (conveyor.yaml, CONVEYOR_* variables, flags) and
 * the YAML-with-positions and duration helpers that pipeline configuration shares.
 */
export type {
  ApiConfig,
  ConveyorConfig,
  CredentialManagerConfig,
  DatabaseConfig,
  LogConfig,
  PluginConfig,
  PluginsConfig,
  RuntimeConfig,
  VolumesConfig,
} from './conveyor-config.generated.js';
export { type DurationResult, parseDuration, tryParseDuration } from './duration.js';
export { type ConfigEnvVariable, configEnvVariables } from './env.js';
export { canonicalJson } from './json-values.js';
export { type DeepPartial, type LoadConfigOptions, loadConfig } from './load-config.js';
export {
  containsVar,
  formatPipeline,
  type GoDuration,
  type HookKey,
  hookKeys,
  type KnownResourceTypes,
  type PipelineProblem,
  type PipelineVarUse,
  parseGoDuration,
  pipelineSchema,
  type ResourceTypeSchemaLookup,
  type ResourceTypeSchemas,
  renderPipelineProblem,
  type Severity,
  type StepType,
  stepTypeOf,
  stepTypes,
  type ValidatedPipeline,
  type ValidatePipelineOptions,
  type VarReference,
  validatePipeline,
  varReferences,
} from './pipeline/index.js';
export type * as PipelineConfigTypes from './pipeline-config.generated.js';
export type {
  DisplayModel,
  GroupModel,
  JobInput,
  JobModel,
  JobOutput,
  PipelineModel,
  ResourceModel,
  ResourceTypeModel,
  ResourceVersion,
  StepConfig,
  VarSourceModel,
} from './pipeline-model.js';
export { isPluginName, isSemverRange, type PluginRefParts, parsePluginRef } from './plugin-ref.js';
export { type ConfigProblem, type ProblemSource, renderProblem } from './problems.js';
export { deriveExternalUrl, type ResolvedConfig, type ResolvedPluginRef } from './resolve.js';
export {
  CONCOURSE_RESOURCE_TYPE,
  IMAGE_RESOURCE_TYPES,
  imageFromSource,
  imageSourceSchema,
  isImageResourceType,
  type PipelineResourceType,
  resourceTypePlugin,
} from './resource-type-images.js';
export { configSchema, type SchemaNode } from './schema.js';
export {
  type PositionTarget,
  parseYamlSource,
  type SourcePosition,
  type YamlPath,
  YamlSource,
  type YamlSourceOptions,
  type YamlSyntaxProblem,
} from './yaml-source.js';
