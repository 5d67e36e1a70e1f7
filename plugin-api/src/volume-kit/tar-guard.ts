import { posix } from 'node:path';
import type { ReadEntry } from 'tar';

/** A symbolic link an archive holds, made only once every other entry is on disk. */
export interface DeferredSymlink {
  /** Normalised path relative to the extraction directory. */
  path: string;
  target: string;
  mtime?: Date | undefined;
  uid?: number | undefined;
  gid?: number | undefined;
}

/** The times of a directory an archive holds, set once everything inside it is written. */
export interface DirectoryTimes {
  atime: Date;
  mtime: Date;
}

/**
 * Decides, entry by entry, what a tar stream may put into a directory. Refused: absolute paths,
 * paths with `..`, hard links to anything outside, relative symbolic links that climb out, and
 * entries that would be written through a symbolic link of the same archive.
 *
 * Symbolic links are taken out of the extraction and made at the end (`deferred`), so nothing is
 * ever written through one. Absolute targets are kept as they are: inside a container's root
 * filesystem `/usr/bin/foo` means the image's file, and a rootfs is full of such links.
 */
export class TarGuard {
  readonly refused: string[] = [];
  readonly deferred = new Map<string, DeferredSymlink>();
  /** Accepted directories by normalised path: writing into a directory changes its mtime. */
  readonly directories = new Map<string, DirectoryTimes>();
  /**
   * The modes of files with setuid or setgid bits, by normalised path: tar gives a file its owner
   * after its mode, and chown clears those bits, so they are set again at the end.
   */
  readonly specialModes = new Map<string, number>();

  accept(entry: ReadEntry): boolean {
    const path = normalise(entry.path);
    const problem = this.#problem(entry, path);
    if (problem) {
      this.refused.push(`${JSON.stringify(entry.path)} ${problem}`);
      return false;
    }
    // A later entry for the same path replaces an earlier link or directory, as with tar itself.
    this.deferred.delete(path);
    this.directories.delete(path);
    this.specialModes.delete(path);
    if (entry.type === 'File' && entry.mode !== undefined && entry.mode & 0o6000) {
      this.specialModes.set(path, entry.mode & 0o7777);
    }
    if (entry.type === 'Directory' && entry.mtime) {
      this.directories.set(path, { atime: entry.atime ?? entry.mtime, mtime: entry.mtime });
    }
    if (entry.type === 'SymbolicLink') {
      this.deferred.set(path, {
        path,
        target: entry.linkpath ?? '',
        mtime: entry.mtime,
        uid: entry.uid,
        gid: entry.gid,
      });
      return false;
    }
    return true;
  }

  #problem(entry: ReadEntry, path: string): string | undefined {
    if (posix.isAbsolute(entry.path)) return 'is an absolute path';
    if (entry.path.split('/').includes('..')) return "contains '..'";
    const through = this.#throughLink(path);
    if (through) return `would be written through the symbolic link ${JSON.stringify(through)}`;
    if (path === '.' && entry.type !== 'Directory') return 'would replace the extraction directory';
    const target = entry.linkpath ?? '';
    if (entry.type === 'Link') {
      if (!target || posix.isAbsolute(target) || target.split('/').includes('..')) {
        return `is a hard link to ${JSON.stringify(target)}, outside the directory`;
      }
      const linked = normalise(target);
      if (this.deferred.has(linked) || this.#throughLink(linked)) {
        return `is a hard link through a symbolic link (${JSON.stringify(target)})`;
      }
    }
    if (entry.type === 'SymbolicLink') {
      if (!target) return 'is a symbolic link with no target';
      if (!posix.isAbsolute(target)) {
        const resolved = posix.normalize(posix.join(posix.dirname(path), target));
        if (resolved === '..' || resolved.startsWith('../')) {
          return `is a symbolic link to ${JSON.stringify(target)}, outside the directory`;
        }
      }
    }
    return undefined;
  }

  /** The archive's own symbolic link that `path` lies under, if any. */
  #throughLink(path: string): string | undefined {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const prefix = parts.slice(0, i).join('/');
      if (this.deferred.has(prefix)) return prefix;
    }
    return undefined;
  }
}

/** `./a//b/` → `a/b`; the root itself is `.`. */
function normalise(path: string): string {
  const normal = posix.normalize(path).replace(/\/+$/, '');
  return normal === '' ? '.' : normal;
}
