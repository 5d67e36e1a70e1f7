/**
 * The registry's errors. What a client sees is the OCI Distribution error body
 * (`{"errors":[{"code","message","detail"}]}`) with the spec's codes; Distribution's extra codes
 * (RANGE_INVALID, PAGINATION_NUMBER_INVALID, UNAVAILABLE, UNKNOWN) are kept where the spec has
 * none, because clients written against Distribution know them. Codes are append-only.
 */

/** Every code the registry answers with, its HTTP status and the spec's short message. */
export const OCI_ERRORS = {
  BLOB_UNKNOWN: { status: 404, message: 'blob unknown to registry' },
  BLOB_UPLOAD_INVALID: { status: 400, message: 'blob upload invalid' },
  BLOB_UPLOAD_UNKNOWN: { status: 404, message: 'blob upload unknown to registry' },
  DIGEST_INVALID: { status: 400, message: 'provided digest did not match uploaded content' },
  MANIFEST_BLOB_UNKNOWN: {
    status: 400,
    message: 'manifest references a manifest or blob unknown to registry',
  },
  MANIFEST_INVALID: { status: 400, message: 'manifest invalid' },
  MANIFEST_UNKNOWN: { status: 404, message: 'manifest unknown to registry' },
  NAME_INVALID: { status: 400, message: 'invalid repository name' },
  NAME_UNKNOWN: { status: 404, message: 'repository name not known to registry' },
  SIZE_INVALID: { status: 400, message: 'provided length did not match content length' },
  UNAUTHORIZED: { status: 401, message: 'authentication required' },
  DENIED: { status: 403, message: 'requested access to the resource is denied' },
  UNSUPPORTED: { status: 405, message: 'the operation is unsupported' },
  TOOMANYREQUESTS: { status: 429, message: 'too many requests' },
  // Distribution's codes, not the spec's:
  RANGE_INVALID: { status: 416, message: 'invalid content range' },
  PAGINATION_NUMBER_INVALID: { status: 400, message: 'invalid number of results requested' },
  UNAVAILABLE: { status: 503, message: 'service unavailable' },
  UNKNOWN: { status: 500, message: 'unknown error' },
  // Not in the distribution spec: the answer to a conditional manifest PUT whose tag moved.
  PRECONDITION_FAILED: { status: 412, message: 'the tag does not point where the request required' },
} as const satisfies Record<string, { status: number; message: string }>;

export type OciErrorCode = keyof typeof OCI_ERRORS;

/**
 * An error answered to a client as an OCI error body. `status` defaults to the code's own (a few
 * answers use another: a too large manifest is SIZE_INVALID with 413, as the spec asks).
 */
export class RegistryError extends Error {
  readonly code: OciErrorCode;
  readonly status: number;
  readonly detail: unknown;
  /** Extra response headers (WWW-Authenticate, Range, Location, …). */
  readonly headers: Record<string, string>;

  constructor(
    code: OciErrorCode,
    message?: string,
    options: { detail?: unknown; status?: number; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(
      message ?? OCI_ERRORS[code].message,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = 'RegistryError';
    this.code = code;
    this.status = options.status ?? OCI_ERRORS[code].status;
    this.detail = options.detail;
    this.headers = options.headers ?? {};
  }

  /** The response body the spec asks for. */
  toBody(): { errors: Array<{ code: OciErrorCode; message: string; detail?: unknown }> } {
    return {
      errors: [
        {
          code: this.code,
          message: this.message,
          ...(this.detail === undefined ? {} : { detail: this.detail }),
        },
      ],
    };
  }
}

/** Codes of the errors thrown before the server runs: bad options, a config file that cannot be read. */
export const CONFIG_ERRORS = {
  CC_E_REGISTRY_CONFIG_INVALID:
    'An option of the registry is missing, of the wrong type or out of range; the message names it and says what it accepts.',
  CC_E_REGISTRY_CONFIG_UNREADABLE:
    'The config file given with --config cannot be read or is not JSON; the message says which file and why.',
  CC_E_REGISTRY_ROOT_UNUSABLE:
    'The storage root cannot be created or written; give a directory the registry may write to (--root).',
  CC_E_REGISTRY_GC_UNSAFE:
    'The gc command was asked for a grace period under a minute while a registry-mirror serves the same root; stop the server, use a longer --grace, or let the server collect itself (gc.intervalSeconds).',
} as const;

export type ConfigErrorCode = keyof typeof CONFIG_ERRORS;

export class RegistryConfigError extends Error {
  readonly code: ConfigErrorCode;

  constructor(code: ConfigErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RegistryConfigError';
    this.code = code;
  }
}

/** Normalise anything thrown into an Error, so `cause` chains and logs always have a message. */
export function toError(value: unknown): Error {
  if (value instanceof Error) return value;
  return new Error(typeof value === 'string' ? value : `non-Error value thrown: ${String(value)}`);
}

/** The errno code of a Node system error (`ENOENT`, …), if it is one. */
export function errnoCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string')
    return error.code;
  return undefined;
}
