import { join, posix, relative } from 'node:path';
import { PluginError } from '@conveyor/plugin-api';

/**
 * Map a path as a step sees it onto the host. The container's root is a directory: an absolute
 * path is taken from it (`/tmp/build/x` → `<root>/tmp/build/x`, so a task sees the layout Concourse
 * gives it), a relative one from `base`, the working directory. Nothing may climb out of the root.
 */
export function containerPath(root: string, base: string, requested: string, what: string): string {
  const fromRoot = requested.startsWith('/')
    ? posix.normalize(`.${requested}`)
    : posix.normalize(posix.join(relative(root, base) || '.', requested));
  if (fromRoot === '..' || fromRoot.startsWith('../')) {
    throw new PluginError(
      'LOCAL_PATH_ESCAPES',
      `${what} ${JSON.stringify(requested)} leaves the container's directory; give a path inside it`,
    );
  }
  return join(root, fromRoot);
}
