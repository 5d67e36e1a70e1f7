/** @conveyor/core: the thin core. Each concern has its own entry point (`@conveyor/core/plugins`, …). */
export { ConveyorError, type ErrorCode, isConveyorError } from './errors/index.js';
