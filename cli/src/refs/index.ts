export {
  jobFlag,
  nonInteractiveFlag,
  pipelineFlag,
  requiredJobFlag,
  resourceFlag,
  teamFlag,
  versionFlag,
} from './flags.js';
export {
  type JobRef,
  parseJobRef,
  parsePipelineName,
  parseResourceRef,
  parseVersionPairs,
  type ResourceRef,
} from './parse-refs.js';
