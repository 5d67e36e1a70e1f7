/**
 * @conveyor/core/gc: reaps containers and volumes no build needs (created → destroying → gone), and
 * leftovers that have no row, on every runtime and volume driver.
 */
export { collectGarbage, type GcOptions, type GcReport } from './collect-garbage.js';
export { BUILD_LABEL, conveyorLabels, OWNER_LABEL, OWNER_VALUE } from './labels.js';
export { type Gc, type StartGcOptions, startGc } from './start-gc.js';
