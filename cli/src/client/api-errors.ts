import { CliError } from '../errors/index.js';
import type { components } from './openapi.generated.js';

export type ErrorResponse = components['schemas']['ErrorResponse'];

/** Who the client talks to, for error messages and hints. */
export interface ErrorContext {
  url: string;
  targetName: string | null;
}

/** A failed fetch: the server did not answer at all. */
export function unreachable(context: ErrorContext, error: unknown, timeoutMs?: number): CliError {
  const reason = networkReason(error, timeoutMs);
  return new CliError(
    'CC_E_CLI_UNREACHABLE',
    `cannot reach the Conveyor server at ${context.url} (${reason})`,
    {
      cause: error,
      hint: 'check that the server runs (`cc up` starts a local one) and that the URL is right (`cc targets`)',
      details: { url: context.url, reason },
    },
  );
}

/** Something answered, but not like a Conveyor server. */
export function badResponse(context: ErrorContext, why: string, cause?: unknown): CliError {
  return new CliError(
    'CC_E_CLI_BAD_RESPONSE',
    `${context.url} does not answer like a Conveyor server: ${why}`,
    {
      cause,
      hint: "the URL is the server's root, e.g. http://127.0.0.1:8080",
      details: { url: context.url },
    },
  );
}

/**
 * The error of a reply that is not 2xx. The server's own code travels in `details.serverCode` (and
 * its details alongside), so commands branch on it rather than on the message.
 */
export function failedReply(context: ErrorContext, status: number, body: unknown): CliError {
  if (!isErrorResponse(body)) {
    return badResponse(context, `it answered ${status} without a Conveyor error body`);
  }
  if (status === 401) {
    const name = context.targetName ?? 'NAME';
    return new CliError(
      'CC_E_CLI_UNAUTHORIZED',
      `the server at ${context.url} rejected the token: ${body.message}`,
      {
        hint: `log in again: cc login -t ${name} --url ${context.url} --token TOKEN`,
        details: { url: context.url, status: 401, serverCode: body.code },
      },
    );
  }
  return new CliError(
    'CC_E_CLI_API_ERROR',
    `the server at ${context.url} answered ${body.code}: ${body.message}`,
    {
      details: { url: context.url, status, serverCode: body.code, ...(body.details ?? {}) },
    },
  );
}

/** Whether a CliError is the server's answer with this `CC_E_*` code. */
export function isServerError(error: unknown, serverCode: string): error is CliError {
  return error instanceof CliError && error.details.serverCode === serverCode;
}

/** A short, stable reason for a failed fetch: the system error code where there is one. */
function networkReason(error: unknown, timeoutMs: number | undefined): string {
  if (error instanceof Error && error.name === 'TimeoutError' && timeoutMs !== undefined) {
    return `no answer within ${timeoutMs / 1000}s`;
  }
  // undici reports "fetch failed" and puts the system error (ECONNREFUSED, ENOTFOUND) in `cause`.
  const cause = error instanceof Error ? error.cause : undefined;
  if (cause instanceof Error)
    return 'code' in cause && typeof cause.code === 'string' ? cause.code : cause.message;
  return error instanceof Error ? error.message : String(error);
}

function isErrorResponse(value: unknown): value is ErrorResponse {
  return (
    typeof value === 'object' &&
    value !== null &&
    'code' in value &&
    typeof value.code === 'string' &&
    'message' in value &&
    typeof value.message === 'string'
  );
}
