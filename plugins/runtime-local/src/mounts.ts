import { lstat, mkdir, stat, symlink } from 'node:fs/promises';
import { dirname, relative, sep } from 'node:path';
import { PluginError, type runtime } from '@conveyor/plugin-api';
import { containerPath } from './container-paths.js';
import { isErrno } from './errno.js';

/**
 * Lay a container's mounts out as symbolic links to the volumes' host paths, so a step finds its
 * inputs and outputs where it expects them. Without isolation a link is all a mount can be:
 * `readOnly` is not enforced, and a mount cannot lie inside another (the link would be created in
 * the other volume).
 */
export async function linkMounts(
  rootDir: string,
  workingDir: string,
  mounts: readonly runtime.Mount[],
): Promise<void> {
  const planned = mounts
    .map((mount) => ({
      mount,
      at: containerPath(rootDir, workingDir, mount.destination, 'mount destination'),
      source: hostPath(mount),
    }))
    // Shallow first, so a nested mount finds its parent's link and is refused for it.
    .sort((a, b) => depth(a.at) - depth(b.at));

  for (const { mount, at, source } of planned) {
    if (at === rootDir) {
      throw new PluginError(
        'LOCAL_MOUNT_CONFLICT',
        `cannot mount ${mount.volume.handle} at ${JSON.stringify(mount.destination)}: that is the container's root`,
      );
    }
    await makeParents(rootDir, dirname(at), mount);
    if (await exists(at)) {
      throw new PluginError(
        'LOCAL_MOUNT_CONFLICT',
        `two mounts share the destination ${JSON.stringify(mount.destination)}; give each volume its own`,
      );
    }
    const target = await stat(source).catch(() => undefined);
    if (!target?.isDirectory()) {
      throw new PluginError(
        'LOCAL_MOUNT_MISSING',
        `volume ${mount.volume.handle} is not a directory at ${source}; was it destroyed?`,
      );
    }
    await symlink(source, at, 'dir');
  }
}

function hostPath(mount: runtime.Mount): string {
  const location = mount.volume.location;
  if (location.type !== 'host-path') {
    throw new PluginError(
      'LOCAL_MOUNT_UNSUPPORTED',
      `volume ${mount.volume.handle} of driver ${mount.volume.driver} is a ${location.type} volume; the local runtime mounts host-path volumes only (use a volume driver that keeps volumes on this host, such as naive)`,
    );
  }
  return location.path;
}

/** Create the directories above a mount point; refuse to pass through another mount's link. */
async function makeParents(rootDir: string, dir: string, mount: runtime.Mount): Promise<void> {
  let current = rootDir;
  for (const part of relative(rootDir, dir).split(sep).filter(Boolean)) {
    current = `${current}${sep}${part}`;
    const stats = await lstat(current).catch((error: unknown) => {
      if (isErrno(error, 'ENOENT')) return undefined;
      throw error;
    });
    if (!stats) {
      await mkdir(current);
    } else if (stats.isSymbolicLink()) {
      throw new PluginError(
        'LOCAL_MOUNT_NESTED',
        `mount destination ${JSON.stringify(mount.destination)} lies inside another mount; the local runtime cannot nest mounts`,
      );
    } else if (!stats.isDirectory()) {
      throw new PluginError(
        'LOCAL_MOUNT_CONFLICT',
        `mount destination ${JSON.stringify(mount.destination)} lies under a file`,
      );
    }
  }
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

function depth(path: string): number {
  return path.split(sep).length;
}
