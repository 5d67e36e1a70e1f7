export { diffPipelineConfigs, type ItemChange, renderConfigDiff, type SectionChange } from './config-diff.js';
export { type DiffLine, diffLines } from './line-diff.js';
export {
  invalidConfig,
  type SetPipelineInput,
  type SetPipelineOutcome,
  setPipeline,
} from './set-pipeline.js';
export { loadStaticVars, type StaticVarFlags } from './static-vars.js';
