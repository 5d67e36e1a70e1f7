/**
 * Pipeline configuration in Concourse's format: validation against the schema and Concourse's
 * rules, the model later stages read, and formatting.
 */
export { type PipelineProblem, renderPipelineProblem, type Severity } from './findings.js';
export { formatPipeline } from './format-pipeline.js';
export { type GoDuration, parseGoDuration } from './go-duration.js';
export type { ResourceTypeSchemaLookup, ResourceTypeSchemas } from './resource-schemas.js';
export { pipelineSchema } from './schema.js';
export type { KnownResourceTypes } from './semantics.js';
export { type HookKey, hookKeys, type StepType, stepTypeOf, stepTypes } from './step-kinds.js';
export {
  type ValidatedPipeline,
  type ValidatePipelineOptions,
  validatePipeline,
} from './validate-pipeline.js';
export { containsVar, type VarReference, varReferences } from './var-refs.js';
export { findVarUses, type PipelineVarUse } from './var-uses.js';
