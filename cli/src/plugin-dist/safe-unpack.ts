/**
 * Unpacks a package tar into an empty directory, refusing anything that could write outside it:
 * absolute paths, `..` components, links whose target leaves the package, paths that go through a
 * link, device files and FIFOs. The whole archive is read and checked before the first byte is
 * written, so a refused archive leaves nothing behind but the (empty) directory.
 */
import { link, mkdir, symlink, writeFile } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import { gunzipSync } from 'node:zlib';
import * as tar from 'tar';
import { CliError } from '../errors/index.js';

export interface ArchiveEntry {
  path: string;
  type: 'file' | 'directory' | 'symlink' | 'hardlink';
  mode: number;
  linkpath?: string;
  data?: Buffer;
}

const kFileTypes = new Set(['File', 'OldFile', 'ContiguousFile']);

function unsafe(path: string, why: string): CliError {
  return new CliError(
    'CC_E_CLI_PLUGIN_UNSAFE_ARCHIVE',
    `the package archive holds ${JSON.stringify(path)}, ${why}; nothing was installed`,
    { details: { entry: path } },
  );
}

/** `path` normalised and checked to stay inside the package; '' for the root. */
function insidePath(raw: string, original: string): string {
  if (raw.startsWith('/') || /^[A-Za-z]:/.test(raw) || raw.includes('\\')) {
    throw unsafe(original, 'an absolute path');
  }
  const parts = raw.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw unsafe(original, 'a path with ".."');
  return parts.join('/');
}

/** Reads and checks every entry of a tar (gzipped or not). */
export async function readPackageArchive(archive: Buffer, gzipped = true): Promise<ArchiveEntry[]> {
  const tarball = gzipped ? gunzipSync(archive) : archive;
  const entries: ArchiveEntry[] = [];
  let failure: unknown;
  const parser = new tar.Parser({
    strict: true,
    onReadEntry: (entry) => {
      const chunks: Buffer[] = [];
      entry.on('data', (chunk: Buffer) => chunks.push(chunk));
      entry.on('end', () => {
        try {
          entries.push(checkEntry(entry, Buffer.concat(chunks)));
        } catch (error) {
          failure ??= error;
        }
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    parser.on('error', reject);
    parser.on('end', resolve);
    parser.end(tarball);
  });
  if (failure !== undefined) throw failure;
  checkLinks(entries);
  return entries;
}

function checkEntry(entry: tar.ReadEntry, data: Buffer): ArchiveEntry {
  const path = insidePath(entry.path, entry.path);
  const mode = (entry.mode ?? 0o644) & 0o777;
  if (kFileTypes.has(entry.type)) return { path, type: 'file', mode, data };
  if (entry.type === 'Directory') return { path, type: 'directory', mode };
  if (entry.type === 'SymbolicLink' || entry.type === 'Link') {
    const target = entry.linkpath ?? '';
    if (entry.type === 'SymbolicLink') {
      if (target.startsWith('/')) throw unsafe(entry.path, `a symbolic link to the absolute path ${target}`);
      // Resolved lexically from the link's directory; links through links are refused below.
      const resolved = posix.normalize(posix.join(posix.dirname(path), target));
      if (resolved === '..' || resolved.startsWith('../')) {
        throw unsafe(entry.path, `a symbolic link to ${target}, outside the package`);
      }
      return { path, type: 'symlink', mode, linkpath: target };
    }
    let linkpath: string;
    try {
      linkpath = insidePath(target, target);
    } catch {
      throw unsafe(entry.path, `a hard link to ${target}, outside the package`);
    }
    return { path, type: 'hardlink', mode, linkpath };
  }
  throw unsafe(
    entry.path,
    `a ${entry.type} entry (only files, directories and links belong in a plugin package)`,
  );
}

/**
 * No entry may be written through a symbolic link, every symbolic link must resolve inside the
 * package even through other links (`a -> b/..` with `b -> .` leaves it), and hard links must name
 * a file in the archive.
 */
function checkLinks(entries: ArchiveEntry[]): void {
  const symlinks = new Map(
    entries.filter((e) => e.type === 'symlink').map((e) => [e.path, e.linkpath as string]),
  );
  const files = new Set(entries.filter((e) => e.type === 'file').map((e) => e.path));
  for (const entry of entries) {
    const parts = entry.path.split('/');
    for (let i = 1; i < parts.length; i++) {
      if (symlinks.has(parts.slice(0, i).join('/'))) {
        throw unsafe(entry.path, `a path through the symbolic link ${parts.slice(0, i).join('/')}`);
      }
    }
    if (entry.type === 'symlink' && resolveInside(entry.path, symlinks) === undefined) {
      throw unsafe(entry.path, `a symbolic link to ${entry.linkpath} that leads outside the package`);
    }
    if (entry.type === 'hardlink' && !files.has(entry.linkpath as string)) {
      throw unsafe(entry.path, `a hard link to ${entry.linkpath}, which is no file of the package`);
    }
  }
}

/**
 * Where a symbolic link leads, following the archive's other links as the kernel would, as a path
 * relative to the package root; undefined when it leaves the package (or loops).
 */
function resolveInside(link: string, symlinks: ReadonlyMap<string, string>): string[] | undefined {
  let hops = 0;
  const walk = (base: string[], target: string): string[] | undefined => {
    const at = [...base];
    for (const part of target.split('/')) {
      if (part === '' || part === '.') continue;
      if (part === '..') {
        if (at.length === 0) return undefined;
        at.pop();
        continue;
      }
      at.push(part);
      const next = symlinks.get(at.join('/'));
      if (next !== undefined) {
        if (++hops > 40) return undefined;
        const resolved = walk(at.slice(0, -1), next);
        if (resolved === undefined) return undefined;
        at.splice(0, at.length, ...resolved);
      }
    }
    return at;
  };
  const parts = link.split('/');
  return walk(parts.slice(0, -1), symlinks.get(link) as string);
}

/** Writes checked entries under `dir` (which exists and is empty). */
export async function writeEntries(dir: string, entries: readonly ArchiveEntry[]): Promise<void> {
  for (const entry of entries) {
    if (entry.path === '') continue;
    const target = join(dir, entry.path);
    await mkdir(dirname(target), { recursive: true });
    switch (entry.type) {
      case 'directory':
        await mkdir(target, { recursive: true, mode: entry.mode | 0o700 });
        break;
      case 'file':
        await writeFile(target, entry.data ?? Buffer.alloc(0), { mode: entry.mode | 0o600, flag: 'wx' });
        break;
      case 'symlink':
        await symlink(entry.linkpath as string, target);
        break;
      case 'hardlink':
        await link(join(dir, entry.linkpath as string), target);
        break;
    }
  }
}
