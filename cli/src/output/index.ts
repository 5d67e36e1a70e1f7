export {
  type ConfigProblem,
  countProblems,
  problemsOf,
  renderProblem,
  validatorProblems,
} from './problems.js';
export { paintStatus, type Style, styleFor } from './style.js';
export { type Column, renderTable } from './table.js';
export { buildDuration, formatDuration, formatTime } from './time.js';
export { presentVersion } from './version.js';
