import { PluginError } from '../plugin-error.js';

/**
 * The failures the OCI kit reports. A plugin names them with its own prefix
 * (`CONTAINERD_REGISTRY_UNAUTHORIZED`, `REGISTRY_IMAGE_REGISTRY_UNAUTHORIZED`), so every code stays
 * stable per plugin and says which plugin failed. Append only.
 */
export const OCI_FAILURES = {
  /** A string that is not `[host[:port]/]repository[:tag][@digest]`. */
  BAD_IMAGE_REFERENCE: 'the image reference cannot be parsed',
  /** The registry refused the credentials, or wants some and none were given. */
  REGISTRY_UNAUTHORIZED: 'the registry refused access',
  /** The repository, tag, manifest or blob does not exist (HTTP 404), or a layout lacks the image. */
  IMAGE_NOT_FOUND: 'the image does not exist',
  /** Content whose digest or size is not what its descriptor says, or an unreadable archive. */
  IMAGE_CORRUPT: 'the image content does not match its digests',
  /** The registry could not be reached at all (DNS, refused connection, TLS, timeout). */
  REGISTRY_UNREACHABLE: 'the registry cannot be reached',
  /** The registry answered something unexpected (a 5xx, an unknown authentication scheme). */
  REGISTRY_FAILED: 'the registry failed',
} as const;

export type OciFailure = keyof typeof OCI_FAILURES;

/** `CONTAINERD` + `IMAGE_CORRUPT` → a PluginError with code `CONTAINERD_IMAGE_CORRUPT`. */
export function ociError(
  prefix: string,
  failure: OciFailure,
  message: string,
  options?: { cause?: unknown },
): PluginError {
  return new PluginError(`${prefix}_${failure}`, message, options);
}

/** Whether `error` is the kit's `failure` under `prefix`: branch on codes, never on messages. */
export function isOciFailure(error: unknown, prefix: string, failure: OciFailure): boolean {
  return error instanceof PluginError && error.code === `${prefix}_${failure}`;
}
