import { type ErrorCode, registry } from './registry.js';

export interface ConveyorErrorOptions {
  cause?: unknown;
  /** Structured facts about the error (plugin id, file position, field path) for logs and the API. */
  details?: Record<string, unknown>;
}

/**
 * The one error class of the core. Callers branch on `code`, never on `message`.
 */
export class ConveyorError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: ConveyorErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ConveyorError';
    this.code = code;
    this.status = registry[code].status;
    this.details = options.details ?? {};
  }
}

export function isConveyorError(value: unknown, code?: ErrorCode): value is ConveyorError {
  return value instanceof ConveyorError && (code === undefined || value.code === code);
}

/** Normalise anything thrown into an Error, so `cause` chains and logs always have a message and stack. */
export function toError(value: unknown): Error {
  if (value instanceof Error) return value;
  if (typeof value === 'string') return new Error(value);
  try {
    return new Error(`non-Error value thrown: ${JSON.stringify(value)}`);
  } catch {
    return new Error(`non-Error value thrown: ${String(value)}`);
  }
}
