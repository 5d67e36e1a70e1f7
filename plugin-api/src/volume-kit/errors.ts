import { PluginError } from '../plugin-error.js';

/**
 * The failures the kit itself reports. A driver names them with its own prefix
 * (`NAIVE_TAR_UNSAFE_ENTRY`, `OVERLAY_TAR_UNSAFE_ENTRY`), so every code stays stable per plugin and
 * says which driver failed. Append only.
 */
export const VOLUME_KIT_FAILURES = {
  /** No volume with that handle. */
  VOLUME_NOT_FOUND: 'no volume with that handle',
  /** createVolume with a handle that is taken. */
  VOLUME_EXISTS: 'the handle is taken',
  /** createVolume of a child whose parent does not exist. */
  PARENT_NOT_FOUND: 'the parent volume does not exist',
  /** A request's path leaves the volume, by `..` or through a symbolic link. */
  PATH_ESCAPES: 'the path leaves the volume',
  /** streamOut of a path that does not exist in the volume. */
  PATH_NOT_FOUND: 'the path does not exist in the volume',
  /** The byte stream is not a tar archive the kit can extract. */
  TAR_FAILED: 'the tar stream cannot be extracted',
  /** The tar stream has entries that would land outside the volume; they were refused. */
  TAR_UNSAFE_ENTRY: 'the tar stream has entries that escape the volume',
  /** destroyVolume of a volume whose children still read through to it (overlay); destroy them first. */
  VOLUME_HAS_CHILDREN: 'the volume has children that depend on it',
  /** createVolume or shiftOwnership with an id mapping whose range runs past the largest id. */
  ID_MAPPING_INVALID: 'the id mapping is not usable',
  /** The owner of an entry could not be changed (not root, a read-only filesystem). */
  OWNERSHIP_FAILED: 'the owners of the volume could not be changed',
} as const;

export type VolumeKitFailure = keyof typeof VOLUME_KIT_FAILURES;

/** `NAIVE` + `TAR_FAILED` → a PluginError with code `NAIVE_TAR_FAILED`. */
export function volumeError(
  prefix: string,
  failure: VolumeKitFailure,
  message: string,
  options?: { cause?: unknown },
): PluginError {
  return new PluginError(`${prefix}_${failure}`, message, options);
}
