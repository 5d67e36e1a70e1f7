import { Errors } from '@oclif/core';
import { type CliErrorCode, cliErrors } from './codes.js';

export interface CliErrorOptions {
  cause?: unknown;
  /** A next step for the user, printed as "Try this: …". */
  hint?: string;
  /** Structured facts (URL, target name, server code) for `--json` output. */
  details?: Record<string, unknown>;
}

/**
 * The one error class of the CLI. It is an oclif CLIError, so oclif's handler prints it (message,
 * code, hint, causes) and exits with its registry exit code: the CLI's one exit point.
 */
export class CliError extends Errors.CLIError {
  override readonly code: CliErrorCode;
  readonly exit: number;
  readonly details: Record<string, unknown>;

  constructor(code: CliErrorCode, message: string, options: CliErrorOptions = {}) {
    const exit = cliErrors[code].exit;
    super(message, { exit, code, ...(options.hint === undefined ? {} : { suggestions: [options.hint] }) });
    this.name = 'Error';
    this.code = code;
    this.exit = exit;
    this.details = options.details ?? {};
    if (options.cause !== undefined) this.cause = options.cause;
  }

  /** The `--json` form: what scripts read on failure. */
  toJson(): { code: CliErrorCode; message: string; exit: number; details?: Record<string, unknown> } {
    return {
      code: this.code,
      message: this.message,
      exit: this.exit,
      ...(Object.keys(this.details).length > 0 ? { details: this.details } : {}),
    };
  }
}

export function isCliError(value: unknown, code?: CliErrorCode): value is CliError {
  return value instanceof CliError && (code === undefined || value.code === code);
}

/**
 * Anything a command throws, as a CliError: oclif's own usage errors (exit 2) become
 * CC_E_CLI_USAGE, anything unforeseen CC_E_CLI_INTERNAL with the original as its cause.
 */
export function toCliError(value: unknown): CliError {
  if (value instanceof CliError) return value;
  if (value instanceof Errors.CLIError && value.oclif.exit === cliErrors.CC_E_CLI_USAGE.exit) {
    return new CliError('CC_E_CLI_USAGE', value.message);
  }
  const error = value instanceof Error ? value : new Error(String(value));
  return new CliError('CC_E_CLI_INTERNAL', `unexpected failure: ${error.message}`, { cause: error });
}
