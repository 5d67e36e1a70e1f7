export { ConveyorError, type ConveyorErrorOptions, isConveyorError, toError } from './conveyor-error.js';
export { defineErrors, type ErrorDefinition } from './define.js';
export { type ErrorCode, errorCodes, registry } from './registry.js';
export { renderErrorDocs } from './render-docs.js';
