import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export interface BtrfsVolumesConfig {
  /** Directory on a btrfs filesystem that holds the volumes; default `<tmpdir>/conveyor-btrfs-volumes`. */
  root?: string;
}

export const DRIVER_NAME = 'btrfs';
/** Every error code of this driver starts with it: BTRFS_NOT_BTRFS, BTRFS_TAR_UNSAFE_ENTRY, … */
export const CODE_PREFIX = 'BTRFS';

export function volumesRoot(config: BtrfsVolumesConfig): string {
  return resolve(config.root ?? join(tmpdir(), 'conveyor-btrfs-volumes'));
}
