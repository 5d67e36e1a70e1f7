import { chmod, cp, lchown, lstat, lutimes, readdir, utimes } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Copy a volume's data: what this driver is. fs.cp keeps file modes and timestamps and, with
 * verbatimSymlinks, link targets as they are; a second pass restores what it does not keep:
 * directory timestamps and, when we can, ownership.
 */
export async function copyTree(from: string, to: string): Promise<void> {
  await cp(from, to, {
    recursive: true,
    preserveTimestamps: true,
    verbatimSymlinks: true,
    errorOnExist: true,
    force: false,
  });
  await restoreMetadata(from, to, process.getuid?.() === 0);
}

async function restoreMetadata(from: string, to: string, canChown: boolean): Promise<void> {
  const stats = await lstat(from);
  if (stats.isDirectory()) {
    for (const name of await readdir(from)) await restoreMetadata(join(from, name), join(to, name), canChown);
  }
  if (stats.isSymbolicLink()) {
    if (canChown) await lchown(to, stats.uid, stats.gid);
    await lutimes(to, stats.atime, stats.mtime);
    return;
  }
  if (canChown) {
    await lchown(to, stats.uid, stats.gid);
    // chown clears setuid and setgid bits; put the mode back.
    await chmod(to, stats.mode & 0o7777);
  }
  // Last, after the children: writing into a directory changes its mtime.
  await utimes(to, stats.atime, stats.mtime);
}
