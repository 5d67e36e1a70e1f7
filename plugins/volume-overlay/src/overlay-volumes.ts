import { randomBytes } from 'node:crypto';
import { chmod, chown, mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { IdMapping } from '@conveyor/plugin-api';
import {
  CommandFailedError,
  filesystemType,
  isErrno,
  ownByMappedRoot,
  removeTree,
  runCommand,
  type VolumeRecord,
  VolumeStore,
  volumeError,
} from '@conveyor/plugin-api/volume-kit';
import { CODE_PREFIX, DRIVER_NAME } from './config.js';
import { overlayError } from './errors.js';
import { mountsUnder, readMounts } from './mounts.js';

/** volume.json of an overlay volume. */
export interface OverlayRecord extends VolumeRecord {
  /**
   * A child's lower layers, top first, relative to the root: its parent's own layer, then the
   * parent's lower layers. Absent for an empty volume, whose data directory is its own layer.
   */
  lowerLayers?: string[];
  /**
   * A child mounted with `metacopy=on`: changing an owner or a mode (shiftOwnership) copies up
   * the file's metadata only, not its data. Its layer may then hold metadata-only files that read
   * their data from the layers below, which only a `metacopy=on` mount can follow, so every
   * descendant of such a child is mounted with it too.
   */
  metacopy?: boolean;
}

/** A child's own layer (what is written to it) and the overlay's work directory, beside `data`. */
const UPPER_DIR = 'upper';
const WORK_DIR = 'work';
/** One empty file per child, named by its handle: who reads through to this volume's layer. */
const CHILDREN_DIR = 'children';
/** Held (flock) while a volume is checked and mounted, so two workers never mount it twice. */
const LOCK_FILE = 'mount.lock';
const LOCK_TIMEOUT_SECONDS = '60';
/**
 * mount(2) takes one page of options; util-linux 2.38 passes them that way. Layers are named
 * relative to the root (mount runs there) so that a long root costs nothing per layer.
 */
const MAX_MOUNT_OPTIONS = 4000;
/** overlayfs stacks at most 500 lower layers. */
const MAX_LOWER_LAYERS = 500;
/**
 * Whether the kernel mounts overlays of this root with `metacopy=on`, by root, found once per
 * process by mounting a tiny one: a kernel without the feature refuses the option, and one whose
 * upper filesystem lacks trusted xattrs mounts without it. The kernel warns against metacopy over
 * untrusted layers, whose crafted `trusted.overlay.*` xattrs could point a file at another's
 * data; here no layer gets such xattrs but from the kernel: tar extraction writes none, and only
 * the host's root (not a user-namespaced container) can set `trusted.*` ones.
 */
const metacopyByRoot = new Map<string, Promise<boolean>>();
/** Why overlays cannot be mounted under a root (undefined: they can), found once per process. */
const unsupportedByRoot = new Map<string, Promise<string | undefined>>();

/**
 * Checked again under the lock: another worker may have mounted the volume since. `index=off`
 * because a parent's upper layer is a lower layer of its children while the parent is mounted,
 * which a kernel built with the index feature on refuses.
 */
const MOUNT_SCRIPT = 'mountpoint -q "$1" || exec mount -t overlay overlay -o "$2" "$1"';

export interface OverlayVolumesOptions {
  /** Mount new children with `metacopy=on` where the kernel takes it. */
  metacopy: boolean;
}

/**
 * Overlay volumes: `<root>/<handle>/data` is an empty volume's own directory, and a child's
 * overlay mount over `upper` (its own layer) and its ancestors' layers as lower layers. A child of
 * a child is one mount with one lower layer per ancestor, never an overlay of an overlay. What
 * a volume is, including its layers, is in its volume.json; a mount is only ever derived from it,
 * so a mount that is gone (a reboot, a crash, someone's umount) is made again when needed.
 */
export class OverlayVolumes {
  readonly store: VolumeStore<OverlayRecord>;
  readonly #metacopy: boolean;

  constructor(root: string, options: OverlayVolumesOptions = { metacopy: true }) {
    this.#metacopy = options.metacopy;
    this.store = new VolumeStore<OverlayRecord>({
      root,
      driver: DRIVER_NAME,
      codePrefix: CODE_PREFIX,
      // Removing files through a live overlay would only whiteout them: unmount first.
      release: (dir) => this.#unmountUnder(dir),
    });
  }

  get root(): string {
    return this.store.root;
  }

  /** With an id mapping, the data directory belongs to the mapping's root. */
  async createEmpty(record: OverlayRecord, idMapping?: IdMapping): Promise<OverlayRecord> {
    return this.store.create(record, async (dataDir) => {
      await mkdir(dataDir);
      if (idMapping) await ownByMappedRoot(dataDir, idMapping, { codePrefix: CODE_PREFIX });
    });
  }

  async createChild(record: OverlayRecord, parent: OverlayRecord): Promise<OverlayRecord> {
    const lowerLayers = [ownLayer(parent), ...(parent.lowerLayers ?? [])];
    // A parent's metadata-only files need it; without them, use it where the kernel can.
    const metacopy = parent.metacopy === true || (this.#metacopy && (await this.metacopySupported()));
    const child: OverlayRecord = { ...record, lowerLayers, ...(metacopy ? { metacopy } : {}) };
    if (lowerLayers.length > MAX_LOWER_LAYERS || mountOptions(child).length > MAX_MOUNT_OPTIONS) {
      throw overlayError(
        'TOO_MANY_LAYERS',
        `cannot create volume ${child.handle} as a child of ${parent.handle}: it would stack ${lowerLayers.length} layers, more than one overlay mount takes (at most ${MAX_LOWER_LAYERS} layers in ${MAX_MOUNT_OPTIONS} bytes of mount options); give the chain a fresh start with an empty volume and streamIn, or use shorter handles`,
      );
    }
    // Known to the parent before it exists: a crash leaves a marker with no child, never a child
    // its parent does not know of.
    const marker = join(this.store.volumeDir(parent.handle), CHILDREN_DIR, child.handle);
    await mkdir(dirname(marker), { recursive: true });
    await writeFile(marker, '');
    // A layer that is gone fails the mount below, which says so.
    const parentRoot = await stat(join(this.root, ownLayer(parent))).catch(() => undefined);
    await this.store.create(child, async (dataDir, volumeDir) => {
      // The mount's root directory is the upper one: owned and moded as the parent's root, so that
      // a child keeps its parent's owners (a user namespace's root's, say).
      const upper = join(volumeDir, UPPER_DIR);
      await mkdir(upper);
      if (parentRoot) {
        await chown(upper, parentRoot.uid, parentRoot.gid);
        await chmod(upper, parentRoot.mode & 0o7777);
      }
      await mkdir(join(volumeDir, WORK_DIR));
      await mkdir(dataDir);
      await writeFile(join(volumeDir, LOCK_FILE), '');
    });
    try {
      await this.ensureMounted(child);
    } catch (error) {
      await this.destroy(child.handle).catch(() => undefined);
      throw error;
    }
    return child;
  }

  /** Mount a child's overlay unless it is mounted; an empty volume needs nothing. */
  async ensureMounted(record: OverlayRecord): Promise<void> {
    if (!record.lowerLayers) return;
    const volumeDir = this.store.volumeDir(record.handle);
    const dataDir = this.store.dataDir(record.handle);
    if (await isMountPoint(dataDir, volumeDir)) return;
    try {
      await runCommand(
        'flock',
        [
          '--timeout',
          LOCK_TIMEOUT_SECONDS,
          join(volumeDir, LOCK_FILE),
          'sh',
          '-c',
          MOUNT_SCRIPT,
          'sh',
          `${record.handle}/data`,
          mountOptions(record),
        ],
        { cwd: this.root },
      );
    } catch (error) {
      throw await this.#mountFailed(record, error);
    }
  }

  /**
   * Refuses (OVERLAY_UNSUPPORTED) when no overlay can be mounted under this root, saying why: what
   * `volumes.driver: auto` asks before it picks overlay.
   */
  async assertSupported(): Promise<void> {
    let reason = unsupportedByRoot.get(this.root);
    if (!reason) {
      reason = this.#probeMount('').then(
        () => undefined,
        (error: unknown) => describe(error),
      );
      unsupportedByRoot.set(this.root, reason);
    }
    const why = await reason;
    if (why !== undefined) {
      throw overlayError(
        'UNSUPPORTED',
        `overlay volumes cannot be mounted under ${this.root}: ${why}; run Conveyor as root on a kernel with overlayfs, or use the btrfs or naive driver`,
      );
    }
  }

  /** Whether overlays of this root mount with `metacopy=on`; found once per process. */
  metacopySupported(): Promise<boolean> {
    let supported = metacopyByRoot.get(this.root);
    if (!supported) {
      supported = this.#probeMetacopy();
      metacopyByRoot.set(this.root, supported);
    }
    return supported;
  }

  /**
   * Mount every child whose mount is gone, as a restarted host finds them. Returns what could not
   * be mounted; each is reported again, with its reason, when a call needs it.
   */
  async remountAll(): Promise<string[]> {
    const failed: string[] = [];
    for (const record of await this.store.list()) {
      await this.ensureMounted(record).catch(() => failed.push(record.handle));
    }
    return failed;
  }

  /**
   * Destroy a volume: refused while children read through to it, then its mount goes, then its
   * directory. False when there is no such volume.
   */
  async destroy(handle: string): Promise<boolean> {
    const record = await this.store.read(handle);
    if (!record) return false;
    const children = await this.#children(handle);
    if (children.length) {
      throw volumeError(
        CODE_PREFIX,
        'VOLUME_HAS_CHILDREN',
        `cannot destroy volume ${handle}: its layer is a lower layer of its children ${children.join(', ')}; destroy them first`,
      );
    }
    // Unmounted while the volume is still whole under its handle: when a process still uses the
    // mount, the volume stays as it was and the next attempt can succeed.
    await this.#unmountUnder(this.store.volumeDir(handle));
    const destroyed = await this.store.destroy(handle);
    if (record.parent) {
      await rm(join(this.store.volumeDir(record.parent), CHILDREN_DIR, handle), { force: true });
    }
    return destroyed;
  }

  /** The children that exist: a marker whose child is gone (a crash midway) does not count. */
  async #children(handle: string): Promise<string[]> {
    const names = await readdir(join(this.store.volumeDir(handle), CHILDREN_DIR)).catch((error: unknown) => {
      if (isErrno(error, 'ENOENT')) return [];
      throw error;
    });
    const children: string[] = [];
    for (const name of names.sort()) {
      if ((await this.store.read(name))?.parent === handle) children.push(name);
    }
    return children;
  }

  /**
   * Mount an overlay of empty layers with `metacopy=on` and read back whether the kernel kept the
   * option. The directory is named as the store names work in progress, so that a crash midway
   * leaves a leftover the store sweeps (unmounting it first).
   */
  async #probeMetacopy(): Promise<boolean> {
    // Refused: the mount of a child says why, should overlays not work at all.
    return this.#probeMount(',metacopy=on').then(
      (superOptions) => superOptions.split(',').includes('metacopy=on'),
      () => false,
    );
  }

  /** Mounts a tiny overlay with these extra options; resolves its super options, rejects if refused. */
  async #probeMount(extraOptions: string): Promise<string> {
    await mkdir(this.root, { recursive: true });
    const dir = join(this.root, `.creating-${process.pid}-probe-${randomBytes(4).toString('hex')}`);
    const merged = join(dir, 'merged');
    try {
      for (const layer of ['lower', UPPER_DIR, WORK_DIR, 'merged'])
        await mkdir(join(dir, layer), { recursive: true });
      const options = `lowerdir=lower,upperdir=${UPPER_DIR},workdir=${WORK_DIR},index=off${extraOptions}`;
      await runCommand('mount', ['-t', 'overlay', 'overlay', '-o', options, 'merged'], { cwd: dir });
      const mount = (await readMounts()).find((m) => m.mountPoint === merged);
      return mount?.superOptions ?? '';
    } finally {
      // A probe that cannot be unmounted stays for the sweep: removing files through it would not do.
      await this.#unmountUnder(dir)
        .then(() => removeTree(dir))
        .catch(() => undefined);
    }
  }

  async #unmountUnder(dir: string): Promise<void> {
    for (const mount of mountsUnder(await readMounts(), dir)) {
      try {
        await runCommand('umount', [mount.mountPoint]);
      } catch (error) {
        // Gone meanwhile (another worker's destroy): what we wanted.
        if (!(await readMounts()).some((m) => m.mountPoint === mount.mountPoint)) continue;
        throw overlayError(
          'UNMOUNT_FAILED',
          `cannot unmount ${mount.mountPoint}: ${describe(error)}; a process may still use it (\`fuser -vm ${mount.mountPoint}\` names it)`,
          { cause: error },
        );
      }
    }
  }

  async #mountFailed(record: OverlayRecord, error: unknown): Promise<Error> {
    if (!(await this.store.read(record.handle))) {
      return volumeError(
        CODE_PREFIX,
        'VOLUME_NOT_FOUND',
        `volume ${record.handle} does not exist in ${this.root}`,
      );
    }
    if (isErrno(error, 'ENOENT')) {
      return overlayError(
        'MOUNT_FAILED',
        `cannot mount volume ${record.handle}: flock, mountpoint or mount is missing; install util-linux`,
        { cause: error },
      );
    }
    const missing: string[] = [];
    for (const layer of record.lowerLayers ?? []) {
      if (!(await stat(join(this.root, layer)).catch(() => undefined))) missing.push(layer);
    }
    const why = missing.length
      ? `its lower layers ${missing.join(', ')} are gone from ${this.root}`
      : record.metacopy && !(await this.metacopySupported())
        ? `${describe(error)}. Its layers may hold metadata-only copies, which need an overlay mounted with metacopy=on, and this kernel or ${this.root}'s filesystem does not take it`
        : `${describe(error)}. The overlay driver needs root (CAP_SYS_ADMIN), the overlay kernel module, and a root directory on a filesystem that can hold upper layers (ext4, xfs, btrfs, tmpfs; ${this.root} is on ${(await filesystemType(this.root)).name}); \`dmesg\` has the kernel's reason`;
    return overlayError(
      'MOUNT_FAILED',
      `cannot mount volume ${record.handle} as an overlay at ${this.store.dataDir(record.handle)}: ${why}`,
      { cause: error },
    );
  }
}

/** The directory that holds what was written to a volume: an empty volume's data, a child's upper layer. */
function ownLayer(record: OverlayRecord): string {
  return `${record.handle}/${record.lowerLayers ? UPPER_DIR : 'data'}`;
}

function mountOptions(record: OverlayRecord): string {
  return [
    `lowerdir=${(record.lowerLayers ?? []).join(':')}`,
    `upperdir=${record.handle}/${UPPER_DIR}`,
    `workdir=${record.handle}/${WORK_DIR}`,
    'index=off',
    ...(record.metacopy ? ['metacopy=on'] : []),
  ].join(',');
}

/** A mount point's root has another device than the directory that holds it. */
async function isMountPoint(path: string, parent: string): Promise<boolean> {
  try {
    return (await stat(path)).dev !== (await stat(parent)).dev;
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return false;
    throw error;
  }
}

function describe(error: unknown): string {
  if (error instanceof CommandFailedError) return error.stderr || error.message;
  return error instanceof Error ? error.message : String(error);
}
