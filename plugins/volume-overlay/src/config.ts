import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export interface OverlayVolumesConfig {
  /** Directory that holds the volumes and their layers; default `<tmpdir>/conveyor-overlay-volumes`. */
  root?: string;
  /**
   * Mount children with `metacopy=on` where the kernel takes it, so that an owner change copies up
   * metadata only; default true. Children of a child mounted with it always are.
   */
  metacopy?: boolean;
}

export const DRIVER_NAME = 'overlay';
/** Every error code of this driver starts with it: OVERLAY_MOUNT_FAILED, OVERLAY_TAR_UNSAFE_ENTRY, … */
export const CODE_PREFIX = 'OVERLAY';

export function volumesRoot(config: OverlayVolumesConfig): string {
  return resolve(config.root ?? join(tmpdir(), 'conveyor-overlay-volumes'));
}
