import { readFile } from 'node:fs/promises';
import { sep } from 'node:path';

/** One line of /proc/self/mountinfo, the fields this driver reads. */
export interface MountEntry {
  mountPoint: string;
  fsType: string;
  /** Filesystem-specific options, e.g. an overlay's `lowerdir=…,upperdir=…`. */
  superOptions: string;
}

/** The mounts this process sees, in mount order. */
export async function readMounts(): Promise<MountEntry[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  const mounts: MountEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    // `id parent major:minor root mountpoint options [optional…] - fstype source superoptions`
    const [before, after] = line.split(' - ');
    const mountPoint = before?.split(' ')[4];
    const [fsType, , superOptions] = after?.split(' ') ?? [];
    if (mountPoint === undefined || fsType === undefined) continue;
    mounts.push({
      mountPoint: decodeOctalEscapes(mountPoint),
      fsType,
      superOptions: decodeOctalEscapes(superOptions ?? ''),
    });
  }
  return mounts;
}

/** Mount points at or below `dir`, deepest (and latest) first: the order to unmount them in. */
export function mountsUnder(mounts: readonly MountEntry[], dir: string): MountEntry[] {
  return mounts
    .filter((m) => m.mountPoint === dir || m.mountPoint.startsWith(dir + sep))
    .reverse()
    .sort((a, b) => b.mountPoint.length - a.mountPoint.length);
}

/** The kernel writes space, tab, newline and backslash in mountinfo as octal escapes. */
function decodeOctalEscapes(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
}
