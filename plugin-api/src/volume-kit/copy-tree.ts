import type { Stats } from 'node:fs';
import {
  chmod,
  constants,
  copyFile,
  lchown,
  link,
  lstat,
  lutimes,
  mkdir,
  readdir,
  readlink,
  symlink,
  utimes,
} from 'node:fs/promises';
import { join } from 'node:path';

/** Files copied at once: enough to keep libuv's thread pool busy, few enough to bound open files. */
const CONCURRENT_FILES = 32;

/**
 * Copy a tree as `cp -a` does: file modes, timestamps, symbolic links as they are (absolute or
 * dangling), hard links as links, and ownership when we can (root). `to` must not exist. Files are
 * cloned where the filesystem can (btrfs, xfs: a reflink costs no data) and copied elsewhere.
 * Sockets, FIFOs and devices are refused, naming the first.
 */
export async function copyTree(from: string, to: string): Promise<void> {
  const copier = new TreeCopier(process.getuid?.() === 0);
  await copier.directory(from, to, await lstat(from));
}

class TreeCopier {
  readonly #canChown: boolean;
  readonly #limit = limiter(CONCURRENT_FILES);
  /** The first copy of each multiply-linked file, by `dev:ino`: later names become hard links to it. */
  readonly #linked = new Map<string, Promise<string>>();

  constructor(canChown: boolean) {
    this.#canChown = canChown;
  }

  async directory(from: string, to: string, stats: Stats): Promise<void> {
    // Private until its metadata is set, last: writing into a directory changes its mtime.
    await mkdir(to, { mode: 0o700 });
    const entries = await readdir(from);
    await Promise.all(
      entries.map(async (name) => {
        const source = join(from, name);
        const target = join(to, name);
        const entry = await this.#limit(() => lstat(source));
        if (entry.isDirectory()) await this.directory(source, target, entry);
        else await this.#limit(() => this.#leaf(source, target, entry));
      }),
    );
    await this.#metadata(to, stats);
  }

  async #leaf(from: string, to: string, stats: Stats): Promise<void> {
    if (stats.isSymbolicLink()) {
      await symlink(await readlink(from), to);
      if (this.#canChown) await lchown(to, stats.uid, stats.gid);
      await lutimes(to, stats.atimeMs / 1000, stats.mtimeMs / 1000);
      return;
    }
    if (!stats.isFile())
      throw new Error(`cannot copy ${from}: it is a ${kindOf(stats)}, which a volume copy does not take`);
    if (stats.nlink > 1) {
      const key = `${stats.dev}:${stats.ino}`;
      const first = this.#linked.get(key);
      if (first) {
        await link(await first, to);
        return;
      }
      const copied = this.#file(from, to, stats).then(() => to);
      this.#linked.set(key, copied);
      await copied;
      return;
    }
    await this.#file(from, to, stats);
  }

  async #file(from: string, to: string, stats: Stats): Promise<void> {
    await copyFile(from, to, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE);
    await this.#metadata(to, stats);
  }

  async #metadata(path: string, stats: Stats): Promise<void> {
    if (this.#canChown) await lchown(path, stats.uid, stats.gid);
    // After chown, which clears setuid and setgid bits.
    await chmod(path, stats.mode & 0o7777);
    await utimes(path, stats.atimeMs / 1000, stats.mtimeMs / 1000);
  }
}

/** Run at most `n` of the functions given at once. */
function limiter(n: number): <T>(fn: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: Array<() => void> = [];
  return async (fn) => {
    if (active < n) active++;
    // A finishing call hands its slot straight to the next in line.
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      return await fn();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else active--;
    }
  };
}

function kindOf(stats: Stats): string {
  if (stats.isFIFO()) return 'FIFO';
  if (stats.isSocket()) return 'socket';
  if (stats.isCharacterDevice()) return 'character device';
  if (stats.isBlockDevice()) return 'block device';
  return 'special file';
}
