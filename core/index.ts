/** @conveyor/core: the thin core. Each concern has its own entry point (`@conveyor/core/plugins`, …). */
export { ConveyorError, isConveyorError, type ErrorCode } from './errors/index.js';
