import { randomBytes } from 'node:crypto';
import { chmod, lchown, lstat, readdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { PluginError } from '@conveyor/plugin-api';
import type { FilledConfig } from './config.js';
import { type ContainerdClient, ignoreNotFound, isAlreadyExists } from './containerd-client.js';
import type { Mount } from './containerd-types.js';
import { labelContent } from './content.js';
import { withMounted } from './host-mounts.js';
import { statSnapshot } from './images.js';

export interface IdMapping {
  hostUid: number;
  hostGid: number;
  size: number;
}

/**
 * The committed snapshot of an image whose files belong to the user namespace's range instead of
 * host root: containerd's WithRemappedSnapshot. Made once per image and mapping, named
 * `<chainId>-remap-<uid>-<gid>`, and kept: every later container of that image starts from it.
 */
export async function remappedSnapshot(
  client: ContainerdClient,
  config: FilledConfig,
  image: { chainId: string; configDigest: string },
  mapping: IdMapping,
): Promise<string> {
  const { chainId } = image;
  const name = `${chainId}-remap-${mapping.hostUid}-${mapping.hostGid}`;
  if (await statSnapshot(client, config.snapshotter, name)) return name;
  const key = `${name}-prepare-${randomBytes(6).toString('hex')}`;
  const { mounts } = await client.call<{ mounts: Mount[] }>('snapshots', 'Prepare', {
    snapshotter: config.snapshotter,
    key,
    parent: chainId,
  });
  let committed = false;
  try {
    await withMounted(mounts, config.stateDir, (dir) => shiftOwnership(dir, mapping));
    try {
      await client.call('snapshots', 'Commit', { snapshotter: config.snapshotter, name, key });
      committed = true;
    } catch (error) {
      // Another worker remapped the same image first.
      if (!isAlreadyExists(error)) throw error;
    }
  } finally {
    if (!committed)
      await ignoreNotFound(client.call('snapshots', 'Remove', { snapshotter: config.snapshotter, key }));
  }
  // The image's config keeps the remapped snapshot from the garbage collector as long as the image
  // is there, as it keeps the image's own snapshots (a suffix after the snapshotter names another).
  await labelContent(client, image.configDigest, {
    [`containerd.io/gc.ref.snapshot.${config.snapshotter}/remap-${mapping.hostUid}-${mapping.hostGid}`]: name,
  });
  return name;
}

/** Prepare a container's writable snapshot on `parent` ('' for an empty one); returns its mounts. */
export async function prepareSnapshot(
  client: ContainerdClient,
  config: FilledConfig,
  key: string,
  parent: string,
  labels: Record<string, string>,
): Promise<Mount[]> {
  const { mounts } = await client.call<{ mounts: Mount[] }>('snapshots', 'Prepare', {
    snapshotter: config.snapshotter,
    key,
    parent,
    labels,
  });
  return mounts;
}

/**
 * The rootfs of a container whose image is a host directory (a volume): an overlay with the
 * directory as its lower layer and the container's own (empty) snapshot as the upper, so the
 * volume itself is never written. Works with the overlayfs snapshotter, whose empty snapshot is a
 * bind mount of `<snapshot>/fs` next to `<snapshot>/work`.
 */
export async function overlayOnHostDir(lower: string, snapshotMounts: readonly Mount[]): Promise<Mount[]> {
  const [upper] = snapshotMounts;
  const workdir = upper ? join(dirname(upper.source), 'work') : '';
  if (
    snapshotMounts.length !== 1 ||
    upper?.type !== 'bind' ||
    !(await stat(workdir).catch(() => undefined))
  ) {
    throw new PluginError(
      'CONTAINERD_SNAPSHOTTER_UNSUPPORTED',
      'a volume image needs the overlayfs snapshotter (set `snapshotter: overlayfs` in the plugin configuration)',
    );
  }
  return [
    {
      type: 'overlay',
      source: 'overlay',
      options: [`lowerdir=${lower}`, `upperdir=${upper.source}`, `workdir=${workdir}`],
    },
  ];
}

/** Give a volume image's overlay to the user namespace, copying every file up once. */
export async function remapOverlay(
  mounts: readonly Mount[],
  config: FilledConfig,
  mapping: IdMapping,
): Promise<void> {
  await withMounted(mounts, config.stateDir, (dir) => shiftOwnership(dir, mapping));
}

/**
 * Shift every file's owner into the mapped range (container uid N becomes host uid hostUid+N), as
 * containerd's remapper does; ids outside the range stay. chown clears setuid and setgid bits, so
 * they are put back.
 */
async function shiftOwnership(dir: string, mapping: IdMapping): Promise<void> {
  const rootDevice = (await lstat(dir)).dev;
  const shift = (id: number, base: number) => (id < mapping.size ? base + id : id);
  const visit = async (path: string): Promise<void> => {
    const stats = await lstat(path);
    if (stats.dev !== rootDevice) return;
    await lchown(path, shift(stats.uid, mapping.hostUid), shift(stats.gid, mapping.hostGid));
    if (!stats.isSymbolicLink() && stats.mode & 0o6000) await chmod(path, stats.mode & 0o7777);
    if (stats.isDirectory()) {
      const names = await readdir(path);
      // A few at a time: a big image has tens of thousands of files.
      for (let i = 0; i < names.length; i += 32)
        await Promise.all(names.slice(i, i + 32).map((name) => visit(join(path, name))));
    }
  };
  await visit(dir);
}
