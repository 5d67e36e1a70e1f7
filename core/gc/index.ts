/**
 * @conveyor/core/gc: reaps containers and volumes no build needs (created → destroying → gone), and
 * leftovers that have no row, on every runtime and volume driver.
 */
export { collectGarbage, type GcOptions, type GcReport } from './collect-garbage.js';
export {
  BUILD_LABEL,
  conveyorLabels,
  INSTALLATION_LABEL,
  OWNER_LABEL,
  OWNER_VALUE,
  ownerLabels,
} from './labels.js';
export { type Gc, type StartGcOptions, startGc } from './start-gc.js';
