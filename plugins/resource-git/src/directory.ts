import { realpath } from 'node:fs/promises';
import { join, posix, sep } from 'node:path';
import { PluginError, type VolumeRef } from '@conveyor/plugin-api';

/** The host path of the step's directory: git works on files, so it needs one. */
export function hostDirectory(directory: VolumeRef): string {
  if (directory.location.type !== 'host-path') {
    throw new PluginError(
      'GIT_DIRECTORY_UNSUPPORTED',
      `the git resource needs a directory on this host, but volume ${directory.handle} is a ${directory.location.type} volume`,
    );
  }
  return directory.location.path;
}

/**
 * A path params name, inside the step's directory (a leading `/` is the directory itself), and
 * still inside it once symbolic links are followed.
 */
export async function pathInside(dir: string, requested: string, what: string): Promise<string> {
  const relative = posix.normalize(`./${requested}`);
  if (relative === '..' || relative.startsWith('../')) {
    throw new PluginError(
      'GIT_PATH_ESCAPES',
      `${what} ${JSON.stringify(requested)} is not inside the put's directory`,
    );
  }
  const path = join(dir, relative);
  let real: string;
  let realDir: string;
  try {
    [real, realDir] = await Promise.all([realpath(path), realpath(dir)]);
  } catch (error) {
    throw new PluginError(
      'GIT_BAD_PARAMS',
      `${what} ${JSON.stringify(requested)} does not exist in the put's directory: name an input or output of the build`,
      { cause: error },
    );
  }
  if (real !== realDir && !real.startsWith(realDir + sep)) {
    throw new PluginError(
      'GIT_PATH_ESCAPES',
      `${what} ${JSON.stringify(requested)} leads out of the put's directory`,
    );
  }
  return real;
}
