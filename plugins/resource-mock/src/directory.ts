import { realpath } from 'node:fs/promises';
import { join, posix, sep } from 'node:path';
import { PluginError, type VolumeRef } from '@conveyor/plugin-api';

/** The host path of the step's directory; the mock reads and writes files, so it needs one. */
export function hostDirectory(directory: VolumeRef): string {
  if (directory.location.type !== 'host-path') {
    throw new PluginError(
      'MOCK_DIRECTORY_UNSUPPORTED',
      `the mock resource needs a directory on this host, but volume ${directory.handle} is a ${directory.location.type} volume`,
    );
  }
  return directory.location.path;
}

/**
 * A path a source or params name, inside the step's directory. As with Go's filepath.Join a
 * leading `/` is the directory itself; climbing out with `..` is refused.
 */
export function pathInside(dir: string, requested: string, what: string): string {
  const relative = posix.normalize(`./${requested}`);
  if (relative === '..' || relative.startsWith('../') || relative === '.') {
    throw new PluginError(
      'MOCK_PATH_ESCAPES',
      `${what} ${JSON.stringify(requested)} is not a file inside the step's directory`,
    );
  }
  return join(dir, relative);
}

/** Refuse a file that leads out of the directory through a symbolic link. */
export async function assertResolvesInside(dir: string, file: string, what: string): Promise<void> {
  const [realDir, realFile] = await Promise.all([realpath(dir), realpath(file)]);
  if (!realFile.startsWith(realDir + sep)) {
    throw new PluginError(
      'MOCK_PATH_ESCAPES',
      `${what} leads out of the step's directory through a symbolic link`,
    );
  }
}
