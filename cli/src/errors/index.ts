export { CliError, type CliErrorOptions, isCliError, toCliError } from './cli-error.js';
export { type CliErrorCode, type CliErrorDefinition, cliErrors, exitCodes } from './codes.js';
