import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export interface OverlayVolumesConfig {
  /** Directory that holds the volumes and their layers; default `<tmpdir>/conveyor-overlay-volumes`. */
  root?: string;
}

export const DRIVER_NAME = 'overlay';
/** Every error code of this driver starts with it: OVERLAY_MOUNT_FAILED, OVERLAY_TAR_UNSAFE_ENTRY, … */
export const CODE_PREFIX = 'OVERLAY';

export function volumesRoot(config: OverlayVolumesConfig): string {
  return resolve(config.root ?? join(tmpdir(), 'conveyor-overlay-volumes'));
}
