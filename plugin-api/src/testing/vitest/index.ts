/**
 * @conveyor/plugin-api/testing/vitest: the conformance suites, one per plugin kind, as vitest
 * suites a plugin's own tests declare. Kept apart from `@conveyor/plugin-api/testing` because
 * they import vitest, which a plugin never needs at run time.
 */

export { type ResourceTypeConformanceOptions, resourceTypeConformance } from './resource-type.js';
export {
  type VolumeDriverConformanceOptions,
  type VolumeDriverGuarantees,
  volumeDriverConformance,
} from './volume-driver.js';
