export { normalizeUrl, type ResolvedTarget, resolveTarget, type TargetFlags } from './resolve-target.js';
export {
  readTargets,
  type Target,
  type Targets,
  targetNamePattern,
  targetsPath,
  writeTargets,
} from './targets-file.js';
