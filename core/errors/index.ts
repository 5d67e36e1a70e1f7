export { ConveyorError, isConveyorError, toError, type ConveyorErrorOptions } from './conveyor-error.js';
export { defineErrors, type ErrorDefinition } from './define.js';
export { errorCodes, registry, type ErrorCode } from './registry.js';
