import { PluginError } from '@conveyor/plugin-api';

/**
 * The prefix of every code this plugin reports. The shared OCI client's failures come out as
 * `REGISTRY_IMAGE_REGISTRY_UNAUTHORIZED`, `REGISTRY_IMAGE_REGISTRY_UNREACHABLE`,
 * `REGISTRY_IMAGE_IMAGE_NOT_FOUND`, `REGISTRY_IMAGE_IMAGE_CORRUPT`, `REGISTRY_IMAGE_REGISTRY_FAILED`
 * and `REGISTRY_IMAGE_BAD_IMAGE_REFERENCE` (see OCI_FAILURES in @conveyor/plugin-api/oci).
 */
export const CODE_PREFIX = 'REGISTRY_IMAGE';

/** The plugin's own failures. Append only. */
export const REGISTRY_IMAGE_FAILURES = {
  /** The source is not usable as given (a repository with a tag in it, a bad tag). */
  BAD_SOURCE: 'the source is not usable',
  /** The source or params ask for something Concourse's resource does that this one does not yet. */
  UNSUPPORTED_FEATURE: 'a feature of the Concourse resource that is not supported yet',
  /** The version is not `{ digest: sha256:… }`. */
  BAD_VERSION: 'the version names no digest',
  /** The params name files that do not exist, or are not what they should be. */
  BAD_PARAMS: 'the params are not usable',
  /** A path the params name leads out of the step's directory. */
  PATH_ESCAPES: 'a path leaves the directory',
  /** The step's directory is not on this host. */
  DIRECTORY_UNSUPPORTED: 'the directory is not a host path',
  /** The image has no manifest for the platform asked for. */
  IMAGE_PLATFORM: 'the image has no manifest for the platform',
  /** A manifest or layer this resource cannot read (zstd layers, an unknown media type). */
  IMAGE_UNSUPPORTED: 'the image is in a form this resource cannot read',
  /** A layer entry would land outside rootfs/, or replace something it must not. */
  UNSAFE_LAYER_ENTRY: 'a layer entry escapes the root filesystem',
} as const;

export type RegistryImageFailure = keyof typeof REGISTRY_IMAGE_FAILURES;

export function registryImageError(
  failure: RegistryImageFailure,
  message: string,
  options?: { cause?: unknown },
): PluginError {
  return new PluginError(`${CODE_PREFIX}_${failure}`, message, options);
}
