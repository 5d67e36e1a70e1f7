import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { type IdMapping, PluginError } from '@conveyor/plugin-api';
import {
  CommandFailedError,
  FILESYSTEM_MAGIC,
  filesystemType,
  isErrno,
  ownByMappedRoot,
  removeTree,
  runCommand,
  type VolumeRecord,
  VolumeStore,
} from '@conveyor/plugin-api/volume-kit';
import { CODE_PREFIX, DRIVER_NAME } from './config.js';
import { btrfsError } from './errors.js';

/** The inode number of every btrfs subvolume's top directory. */
const SUBVOLUME_ROOT_INODE = 256;

/**
 * Btrfs volumes: `<root>/<handle>/data` is a subvolume. An empty volume is a new subvolume, a
 * child a writable snapshot of its parent's: constant time, and from then on as independent of
 * its parent as a copy. The record beside it holds the rest, so a restart finds it all.
 */
export class BtrfsVolumes {
  readonly store: VolumeStore;

  constructor(root: string) {
    this.store = new VolumeStore({
      root,
      driver: DRIVER_NAME,
      codePrefix: CODE_PREFIX,
      release: (dir) => deleteSubvolume(join(dir, 'data')),
    });
  }

  /** With an id mapping, the subvolume's top directory belongs to the mapping's root. */
  async createEmpty(record: VolumeRecord, idMapping?: IdMapping): Promise<VolumeRecord> {
    await this.#assertOnBtrfs();
    return this.store.create(record, async (dataDir) => {
      await btrfs(['subvolume', 'create', dataDir]);
      if (idMapping) await ownByMappedRoot(dataDir, idMapping, { codePrefix: CODE_PREFIX });
    });
  }

  async createChild(record: VolumeRecord, parent: VolumeRecord): Promise<VolumeRecord> {
    await this.#assertOnBtrfs();
    const source = this.store.dataDir(parent.handle);
    return this.store.create(record, (dataDir) => btrfs(['subvolume', 'snapshot', source, dataDir]));
  }

  /** A snapshot needs nothing from its parent: any volume may go first. */
  destroy(handle: string): Promise<boolean> {
    return this.store.destroy(handle);
  }

  /** Refuses (BTRFS_NOT_BTRFS) unless the root is on btrfs: what `volumes.driver: auto` asks. */
  assertSupported(): Promise<void> {
    return this.#assertOnBtrfs();
  }

  async #assertOnBtrfs(): Promise<void> {
    const { root } = this.store;
    const fs = await filesystemType(root);
    if (fs.magic !== FILESYSTEM_MAGIC.btrfs) {
      throw btrfsError(
        'NOT_BTRFS',
        `the btrfs volume driver's root ${root} is on ${fs.name}, not btrfs; set \`root\` in the driver's configuration to a directory on a btrfs filesystem (mkfs.btrfs a disk or a loop file and mount it), or use the overlay or naive driver`,
      );
    }
  }
}

/**
 * Delete a volume's subvolume: instant, where removing its files one by one would take as long as
 * copying them. A subvolume that holds other subvolumes (a step may make some) cannot be deleted
 * that way; removing the files does it, as root can remove an empty subvolume like a directory.
 */
async function deleteSubvolume(path: string): Promise<void> {
  const stats = await lstat(path).catch((error: unknown) => {
    if (isErrno(error, 'ENOENT')) return undefined;
    throw error;
  });
  if (!stats) return;
  if (stats.isDirectory() && stats.ino === SUBVOLUME_ROOT_INODE) {
    try {
      await btrfs(['subvolume', 'delete', path]);
      return;
    } catch (error) {
      if (!(error instanceof PluginError && error.code === `${CODE_PREFIX}_SUBVOLUME_FAILED`)) throw error;
    }
  }
  await removeTree(path);
}

async function btrfs(args: string[]): Promise<void> {
  try {
    await runCommand('btrfs', args);
  } catch (error) {
    if (isErrno(error, 'ENOENT')) {
      throw btrfsError(
        'PROGS_MISSING',
        'the btrfs volume driver needs the `btrfs` program: install btrfs-progs',
        {
          cause: error,
        },
      );
    }
    const reason = error instanceof CommandFailedError ? error.stderr || error.message : String(error);
    throw btrfsError('SUBVOLUME_FAILED', `\`btrfs ${args.join(' ')}\` failed: ${reason}`, { cause: error });
  }
}
