export { checkInputDir, downloadDir, uploadDir } from './artifacts.js';
export { type InputPlan, type LocalArtifact, parseArtifactPairs, planInputs } from './plan-artifacts.js';
export { readTaskConfig, type TaskConfigFile, type TaskInput } from './task-config.js';
