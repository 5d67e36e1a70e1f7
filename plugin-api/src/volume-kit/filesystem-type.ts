import { statfs } from 'node:fs/promises';
import { dirname } from 'node:path';
import { isErrno } from './paths.js';

/** statfs magic numbers of the filesystems a volume root is most often on. */
export const FILESYSTEM_MAGIC = {
  btrfs: 0x9123683e,
  ext4: 0xef53,
  xfs: 0x58465342,
  tmpfs: 0x01021994,
  overlayfs: 0x794c7630,
  nfs: 0x6969,
  zfs: 0x2fc12fc1,
  ramfs: 0x858458f6,
  fuse: 0x65735546,
} as const;

export interface FilesystemType {
  magic: number;
  /** `btrfs`, `ext4`, … or the magic number in hex for one the kit does not name. */
  name: string;
}

/**
 * The filesystem `path` is on; for a path that does not exist yet, the one its nearest existing
 * ancestor is on, where it will be made.
 */
export async function filesystemType(path: string): Promise<FilesystemType> {
  let at = path;
  for (;;) {
    try {
      const { type } = await statfs(at);
      const name = Object.entries(FILESYSTEM_MAGIC).find(([, magic]) => magic === type)?.[0];
      return { magic: type, name: name ?? `0x${type.toString(16)}` };
    } catch (error) {
      if (!(isErrno(error, 'ENOENT') || isErrno(error, 'ENOTDIR')) || dirname(at) === at) throw error;
      at = dirname(at);
    }
  }
}
