import { lstat, realpath } from 'node:fs/promises';
import { dirname, join, posix, sep } from 'node:path';
import { volumeError } from './errors.js';

/**
 * Resolve a path a request names inside a volume. A leading `/` means the volume's root; a path
 * that climbs out with `..` is refused (`<prefix>_PATH_ESCAPES`) before anything touches the disk.
 */
export function resolveInside(
  root: string,
  requested: string | undefined,
  what: string,
  prefix: string,
): string {
  const relative = posix.normalize(`./${requested ?? '.'}`);
  if (relative === '..' || relative.startsWith('../')) {
    throw volumeError(
      prefix,
      'PATH_ESCAPES',
      `${what} ${JSON.stringify(requested)} leaves the volume; give a path inside it`,
    );
  }
  return join(root, relative);
}

/**
 * Refuse a path that leaves `root` through a symbolic link already in the volume: the deepest part
 * of it that exists must resolve inside `root`.
 */
export async function assertResolvesInside(
  root: string,
  path: string,
  what: string,
  prefix: string,
): Promise<void> {
  const realRoot = await realpath(root);
  let existing = path;
  while (!(await exists(existing))) existing = dirname(existing);
  const real = await realpath(existing);
  if (real !== realRoot && !real.startsWith(realRoot + sep)) {
    throw volumeError(
      prefix,
      'PATH_ESCAPES',
      `${what} leads out of the volume through a symbolic link; give a path inside it`,
    );
  }
}

export async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (error) {
    if (isErrno(error, 'ENOENT') || isErrno(error, 'ENOTDIR')) return false;
    throw error;
  }
}

export function isErrno(error: unknown, code: string): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === code;
}
