import { readdir, realpath } from 'node:fs/promises';
import { join, posix, sep } from 'node:path';
import type { VolumeRef } from '@conveyor/plugin-api';
import { registryImageError } from './errors.js';

/** The host path of the step's directory: images are written to and read from files. */
export function hostDirectory(directory: VolumeRef): string {
  if (directory.location.type !== 'host-path') {
    throw registryImageError(
      'DIRECTORY_UNSUPPORTED',
      `the registry-image resource needs a directory on this host, but volume ${directory.handle} is a ${directory.location.type} volume`,
    );
  }
  return directory.location.path;
}

/**
 * The one path a params glob names inside the step's directory (`image/*.tar`): `*`, `?` and `[…]`
 * match within one path component. Exactly one match, and inside the directory once symbolic links
 * are followed.
 */
export async function matchOne(dir: string, pattern: string, what: string): Promise<string> {
  const relative = posix.normalize(`./${pattern}`);
  if (relative === '..' || relative.startsWith('../')) {
    throw registryImageError(
      'PATH_ESCAPES',
      `${what} ${JSON.stringify(pattern)} is not inside the put's directory`,
    );
  }
  let candidates = [''];
  for (const part of relative.split('/').filter((p) => p && p !== '.')) {
    const next: string[] = [];
    for (const base of candidates) {
      if (!/[*?[]/.test(part)) {
        next.push(base ? `${base}/${part}` : part);
        continue;
      }
      const matcher = globPart(part);
      const names = await readdir(join(dir, base)).catch(() => [] as string[]);
      for (const name of names.sort()) if (matcher.test(name)) next.push(base ? `${base}/${name}` : name);
    }
    candidates = next;
  }
  const existing: string[] = [];
  for (const candidate of candidates) {
    if (await realpath(join(dir, candidate)).catch(() => undefined)) existing.push(candidate);
  }
  if (existing.length !== 1) {
    throw registryImageError(
      'BAD_PARAMS',
      existing.length === 0
        ? `${what} ${JSON.stringify(pattern)} matches nothing in the put's directory: name a file of an input or output of the build (e.g. image/image.tar)`
        : `${what} ${JSON.stringify(pattern)} matches ${existing.length} files (${existing.slice(0, 5).join(', ')}); it must match exactly one`,
    );
  }
  const [real, realDir] = await Promise.all([realpath(join(dir, existing[0] as string)), realpath(dir)]);
  if (real !== realDir && !real.startsWith(realDir + sep)) {
    throw registryImageError(
      'PATH_ESCAPES',
      `${what} ${JSON.stringify(pattern)} leads out of the put's directory`,
    );
  }
  return real;
}

/** A glob component as a regular expression; a leading dot is matched only by a pattern's own dot. */
function globPart(part: string): RegExp {
  let source = '';
  for (let i = 0; i < part.length; i++) {
    const c = part[i] as string;
    if (c === '*') source += '[^/]*';
    else if (c === '?') source += '[^/]';
    else if (c === '[') {
      const end = part.indexOf(']', i + 1);
      if (end === -1) source += '\\[';
      else {
        const body = part
          .slice(i + 1, end)
          .replace(/^!/, '^')
          .replace(/\\/g, '\\\\');
        source += `[${body}]`;
        i = end;
      }
    } else source += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${part.startsWith('.') ? '' : '(?!\\.)'}${source}$`);
}
