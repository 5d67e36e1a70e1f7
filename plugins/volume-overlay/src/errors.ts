import { PluginError } from '@conveyor/plugin-api';
import { CODE_PREFIX } from './config.js';

/**
 * The overlay driver's own failures, besides the volume kit's (OVERLAY_VOLUME_NOT_FOUND,
 * OVERLAY_TAR_UNSAFE_ENTRY, OVERLAY_VOLUME_HAS_CHILDREN, …). Append only.
 */
export const OVERLAY_FAILURES = {
  /** The kernel refused the overlay mount of a child (no root, no overlay module, a root on a filesystem that cannot hold upper layers). */
  MOUNT_FAILED: 'the overlay mount of a volume failed',
  /** A volume's mount could not be removed, most often because a process still uses it. */
  UNMOUNT_FAILED: 'the overlay mount of a volume could not be removed',
  /** A child would stack more layers than one overlay mount can name. */
  TOO_MANY_LAYERS: 'the child would have too many layers',
  /** `info` found that overlays cannot be mounted under the root here (not root, no overlayfs). */
  UNSUPPORTED: 'overlay volumes cannot work on this host',
} as const;

export type OverlayFailure = keyof typeof OVERLAY_FAILURES;

export function overlayError(
  failure: OverlayFailure,
  message: string,
  options?: { cause?: unknown },
): PluginError {
  return new PluginError(`${CODE_PREFIX}_${failure}`, message, options);
}
