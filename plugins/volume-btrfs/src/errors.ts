import { PluginError } from '@conveyor/plugin-api';
import { CODE_PREFIX } from './config.js';

/**
 * The btrfs driver's own failures, besides the volume kit's (BTRFS_VOLUME_NOT_FOUND,
 * BTRFS_TAR_UNSAFE_ENTRY, …). Append only.
 */
export const BTRFS_FAILURES = {
  /** The configured root is not on a btrfs filesystem. */
  NOT_BTRFS: 'the root directory is not on btrfs',
  /** The `btrfs` program (btrfs-progs) is not installed. */
  PROGS_MISSING: 'btrfs-progs is not installed',
  /** `btrfs subvolume create|snapshot|delete` failed. */
  SUBVOLUME_FAILED: 'a btrfs subvolume operation failed',
} as const;

export type BtrfsFailure = keyof typeof BTRFS_FAILURES;

export function btrfsError(
  failure: BtrfsFailure,
  message: string,
  options?: { cause?: unknown },
): PluginError {
  return new PluginError(`${CODE_PREFIX}_${failure}`, message, options);
}
