import { once } from 'node:events';
import { chmod, lchown, lstat, lutimes, mkdir, symlink, unlink, utimes } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { ReadEntry, Unpack } from 'tar';
import { volumeError } from './errors.js';
import { isErrno } from './paths.js';
import { type DeferredSymlink, type DirectoryTimes, TarGuard } from './tar-guard.js';

/** How many refused entries an error message names. */
const NAMED_IN_ERRORS = 10;

export interface TarOptions {
  /** The driver's error code prefix: `NAIVE` makes `NAIVE_TAR_FAILED`. */
  codePrefix: string;
  /** Where entries skipped as unsupported (devices, FIFOs) are reported. */
  log: (line: string) => void;
}

/**
 * Extract a tar stream into `dir`, which must exist. Returns the number of bytes read. Unsafe
 * entries are skipped and then fail the call (`<prefix>_TAR_UNSAFE_ENTRY`), naming them; the
 * caller then destroys the volume. One implementation whatever `dir` is: a plain directory, an
 * overlay mount (what it writes lands in the upper layer) or a btrfs subvolume.
 */
export async function extractTar(
  chunks: AsyncIterable<Uint8Array>,
  dir: string,
  { codePrefix, log }: TarOptions,
): Promise<number> {
  const guard = new TarGuard();
  const failures: string[] = [];
  const unpack = new Unpack({
    cwd: dir,
    filter: (_path, entry) => entry instanceof ReadEntry && guard.accept(entry),
    onwarn: (code, message) => {
      if (code === 'TAR_ENTRY_INFO') return;
      if (code === 'TAR_ENTRY_UNSUPPORTED') log(`skipped: ${message}`);
      else failures.push(`${code}: ${message}`);
    },
    // Modes exactly as archived: no umask, and explicit modes for parents the archive omits.
    chmod: true,
    umask: 0,
    // Replace an existing file rather than write into it: a file written in place keeps its old
    // mode (and any other name it has as a hard link), where the archive's must win, as with
    // `tar -x`. Every driver behaves the same way.
    unlink: true,
    dmode: 0o755,
    fmode: 0o644,
  });
  const finished = new Promise<void>((resolve, reject) => {
    unpack.on('close', resolve);
    unpack.on('error', reject);
  });
  // Awaited below; until then a rejection must not count as unhandled.
  finished.catch(() => undefined);

  let bytes = 0;
  // An empty stream, or an archive of end-of-archive blocks only, holds nothing to extract; tar
  // calls both a bad archive.
  let empty = true;
  try {
    for await (const chunk of chunks) {
      bytes += chunk.byteLength;
      if (empty) empty = chunk.every((byte) => byte === 0);
      if (!unpack.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength))) {
        await Promise.race([once(unpack, 'drain'), finished]);
      }
    }
    unpack.end();
    await finished;
  } catch (error) {
    if (empty) return bytes;
    throw volumeError(codePrefix, 'TAR_FAILED', `cannot extract the tar stream: ${describe(error)}`, {
      cause: error,
    });
  }

  if (!guard.refused.length) {
    for (const link of guard.deferred.values()) {
      const problem = await makeSymlink(dir, link);
      if (problem) guard.refused.push(problem);
    }
    await setSpecialModes(dir, guard.specialModes);
    await setDirectoryTimes(dir, guard.directories);
  }
  if (guard.refused.length) {
    throw volumeError(
      codePrefix,
      'TAR_UNSAFE_ENTRY',
      `the tar stream has ${guard.refused.length} entries that would escape the volume directory and were refused: ${summarise(guard.refused)}`,
    );
  }
  if (failures.length) {
    throw volumeError(codePrefix, 'TAR_FAILED', `cannot extract the tar stream: ${summarise(failures)}`);
  }
  return bytes;
}

/** Make one deferred symbolic link; returns a problem instead when it cannot be made safely. */
async function makeSymlink(dir: string, link: DeferredSymlink): Promise<string | undefined> {
  const path = join(dir, link.path);
  // Parents must be real directories: never place a link through another link.
  let parent = dir;
  for (const part of relative(dir, dirname(path)).split(sep).filter(Boolean)) {
    parent = join(parent, part);
    const stats = await lstat(parent).catch((error: unknown) => {
      if (isErrno(error, 'ENOENT')) return undefined;
      throw error;
    });
    if (!stats) await mkdir(parent, { mode: 0o755 });
    else if (!stats.isDirectory()) {
      return `${JSON.stringify(link.path)} would be placed through ${JSON.stringify(relative(dir, parent))}, which is not a directory`;
    }
  }
  const existing = await lstat(path).catch(() => undefined);
  if (existing?.isDirectory()) {
    return `${JSON.stringify(link.path)} is a symbolic link where the archive also has a directory`;
  }
  if (existing) await unlink(path);
  await symlink(link.target, path);
  if (process.getuid?.() === 0 && link.uid !== undefined && link.gid !== undefined) {
    await lchown(path, link.uid, link.gid);
  }
  if (link.mtime) await lutimes(path, link.mtime, link.mtime);
  return undefined;
}

/** Set the setuid and setgid bits that giving files their owners cleared. */
async function setSpecialModes(dir: string, modes: Map<string, number>): Promise<void> {
  for (const [path, mode] of modes) {
    const target = join(dir, path);
    // Only what is still a file: chmod follows links.
    if ((await lstat(target).catch(() => undefined))?.isFile()) await chmod(target, mode);
  }
}

/** Last, deepest first, as `tar -x` does: each entry written into a directory changed its mtime. */
async function setDirectoryTimes(dir: string, directories: Map<string, DirectoryTimes>): Promise<void> {
  const depth = (path: string) => (path === '.' ? 0 : path.split('/').length);
  const paths = [...directories.keys()].sort((a, b) => depth(b) - depth(a));
  for (const path of paths) {
    const times = directories.get(path);
    const target = join(dir, path);
    // Only what is still a directory: a later entry may have replaced it, and utimes follows links.
    if (!times || !(await lstat(target).catch(() => undefined))?.isDirectory()) continue;
    await utimes(target, times.atime, times.mtime);
  }
}

function summarise(lines: string[]): string {
  const named = lines.slice(0, NAMED_IN_ERRORS).join('; ');
  return lines.length > NAMED_IN_ERRORS ? `${named}; and ${lines.length - NAMED_IN_ERRORS} more` : named;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
