import type { Stats } from 'node:fs';
import { chmodSync, lchownSync, lstatSync, readdirSync } from 'node:fs';
import { chmod, lchown, readFile, realpath } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { setImmediate } from 'node:timers/promises';
import type { IdMapping } from '../generated/common.generated.js';
import { volumeError } from './errors.js';
import { isErrno } from './paths.js';

/**
 * Owners changed at once when a chown copies data (see `copiesData`). On two cores and ext4,
 * 10,000 copy-ups of 4 KiB files on overlay take 1.7 s this way, 3.4 s one by one.
 */
const CONCURRENT_CHOWNS = 64;
/** The walk yields to the event loop this often, so other calls on the worker are not held up. */
const SLICE_MS = 10;
/** The largest id chown takes: (uid_t)-1 means "leave as is". */
const MAX_ID = 0xffff_fffe;

export interface ShiftOwnershipOptions {
  /** The driver's error code prefix: `NAIVE` makes `NAIVE_OWNERSHIP_FAILED`. */
  codePrefix: string;
  /**
   * Changing an owner copies the file's data: an overlay mounted without `metacopy=on` copies a
   * file up whole. Owners are then changed in parallel through libuv's pool, where the copies
   * overlap. Otherwise every call runs on this thread, in slices that leave the event loop free:
   * four times faster than through the pool where a chown writes metadata only (100,000 files in
   * 0.45 s instead of 1.5 s on two cores and ext4).
   */
  copiesData?: boolean;
}

/**
 * Move a volume's files into a user namespace's ids, as the volume contract's `shiftOwnership`
 * says: an entry owned by uid (gid) N, N below the mapping's size, becomes hostUid+N (hostGid+N).
 * Returns how many entries changed; each file counts once, whatever its number of hard links.
 *
 * - An id already inside the mapped range stays, so shifting twice changes nothing the second time.
 *   (Where the range overlaps [0, size), an id in both counts as shifted.)
 * - An id that is neither below the size nor inside the range stays too, and is not counted: the
 *   container sees it as the overflow id ("nobody"), as it would any unmapped host id. Moving it
 *   to the mapping's nobody instead would lose the owner for good.
 * - Symbolic links are lchowned, never followed, and the walk never enters a mount point below
 *   `dir`: nothing outside the volume changes. The walk assumes nothing else writes the volume
 *   meanwhile (a directory swapped for a link between the two would be followed).
 * - chown clears the setuid and setgid bits of files; they are set again. File capabilities
 *   (`security.capability`), which chown drops as well, are not: tar streaming never carries them.
 */
export async function shiftOwnership(
  dir: string,
  mapping: IdMapping,
  { codePrefix, copiesData = false }: ShiftOwnershipOptions,
): Promise<number> {
  assertIdMapping(mapping, codePrefix);
  const mountPoints = await mountPointsBelow(dir);
  return new OwnershipShift(dir, mapping, { codePrefix, copiesData }, mountPoints).run();
}

/**
 * Give an empty volume's root directory to the mapping's root (hostUid:hostGid), so that the
 * user namespace's root can write it. Its mode stays as it is.
 */
export async function ownByMappedRoot(
  dir: string,
  mapping: IdMapping,
  { codePrefix }: ShiftOwnershipOptions,
): Promise<void> {
  assertIdMapping(mapping, codePrefix);
  try {
    await lchown(dir, mapping.hostUid, mapping.hostGid);
  } catch (error) {
    throw failed(
      codePrefix,
      `cannot give the volume's root directory to ${mapping.hostUid}:${mapping.hostGid}`,
      error,
    );
  }
}

/** Refuse a mapping whose range runs past the largest id, before anything changes. */
function assertIdMapping({ hostUid, hostGid, size }: IdMapping, codePrefix: string): void {
  const valid = [hostUid, hostGid, size].every((n) => Number.isSafeInteger(n) && n >= 1);
  if (!valid || hostUid + size - 1 > MAX_ID || hostGid + size - 1 > MAX_ID) {
    throw volumeError(
      codePrefix,
      'ID_MAPPING_INVALID',
      `the id mapping {hostUid: ${hostUid}, hostGid: ${hostGid}, size: ${size}} is not usable: hostUid and hostGid must be positive integers and hostUid+size-1, hostGid+size-1 at most ${MAX_ID}`,
    );
  }
}

/** One walk over a volume, depth first. */
class OwnershipShift {
  readonly #root: string;
  readonly #mapping: IdMapping;
  readonly #codePrefix: string;
  readonly #parallel: boolean;
  readonly #mountPoints: ReadonlySet<string>;
  /**
   * Files with more than one name, by `dev:ino`, once counted. Every name is still shifted: on
   * overlay, changing one name's owner copies it up, which parts it from its other names.
   */
  readonly #counted = new Set<string>();
  #inFlight = 0;
  /** The walk, waiting for a chown to finish before it starts another. */
  readonly #slotFreed: Array<() => void> = [];
  readonly #drained: Array<() => void> = [];
  #failure: unknown;
  #changed = 0;

  constructor(
    root: string,
    mapping: IdMapping,
    options: Required<ShiftOwnershipOptions>,
    mountPoints: ReadonlySet<string>,
  ) {
    this.#root = root;
    this.#mapping = mapping;
    this.#codePrefix = options.codePrefix;
    this.#parallel = options.copiesData;
    this.#mountPoints = mountPoints;
  }

  async run(): Promise<number> {
    const pending = [this.#root];
    let sliceStart = performance.now();
    try {
      for (
        let path = pending.pop();
        path !== undefined && this.#failure === undefined;
        path = pending.pop()
      ) {
        const stats = this.#sync(path, 'read the owner of', () => lstatSync(path));
        if (stats && !this.#skip(path, stats)) {
          await this.#shift(path, stats);
          if (stats.isDirectory()) {
            const names = this.#sync(path, 'list', () => readdirSync(path)) ?? [];
            for (const name of names) pending.push(join(path, name));
          }
        }
        if (performance.now() - sliceStart > SLICE_MS) {
          await setImmediate();
          sliceStart = performance.now();
        }
      }
    } catch (error) {
      this.#failure ??= error;
    }
    // Whatever happened, nothing is left changing the volume once the call returns.
    await this.#drain();
    if (this.#failure !== undefined) throw this.#failure;
    return this.#changed;
  }

  /** A mount point below the root: the walk leaves other filesystems alone. */
  #skip(path: string, stats: Stats): boolean {
    return stats.isDirectory() && path !== this.#root && this.#mountPoints.has(path);
  }

  /** Change the owners of `path` if they are to change; in parallel, start it once a slot is free. */
  async #shift(path: string, stats: Stats): Promise<void> {
    const { hostUid, hostGid, size } = this.#mapping;
    const uid = shifted(stats.uid, hostUid, size);
    const gid = shifted(stats.gid, hostGid, size);
    if (uid === stats.uid && gid === stats.gid) return;
    if (!this.#parallel) {
      const done = this.#sync(path, `give ${uid}:${gid} to`, () => {
        lchownSync(path, uid, gid);
        // chown cleared them; root may set them again.
        if (stats.isFile() && stats.mode & 0o6000) chmodSync(path, stats.mode & 0o7777);
        return true;
      });
      if (done) this.#count(stats);
      return;
    }
    while (this.#inFlight >= CONCURRENT_CHOWNS)
      await new Promise<void>((resolve) => this.#slotFreed.push(resolve));
    this.#inFlight++;
    void this.#chown(path, uid, gid, stats).finally(() => {
      this.#inFlight--;
      this.#slotFreed.shift()?.();
      if (this.#inFlight === 0) for (const resolve of this.#drained.splice(0)) resolve();
    });
  }

  async #chown(path: string, uid: number, gid: number, stats: Stats): Promise<void> {
    try {
      await lchown(path, uid, gid);
      // chown cleared them; root may set them again.
      if (stats.isFile() && stats.mode & 0o6000) await chmod(path, stats.mode & 0o7777);
      this.#count(stats);
    } catch (error) {
      if (!isErrno(error, 'ENOENT')) this.#failure ??= this.#failed(path, `give ${uid}:${gid} to`, error);
    }
  }

  #count(stats: Stats): void {
    if (stats.nlink > 1 && !stats.isDirectory()) {
      const key = `${stats.dev}:${stats.ino}`;
      if (this.#counted.has(key)) return;
      this.#counted.add(key);
    }
    this.#changed++;
  }

  /** Every chown started has finished. */
  async #drain(): Promise<void> {
    if (this.#inFlight > 0) await new Promise<void>((resolve) => this.#drained.push(resolve));
  }

  /** One synchronous call on `path`; undefined when the entry is gone meanwhile. */
  #sync<T>(path: string, what: string, call: () => T): T | undefined {
    try {
      return call();
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return undefined;
      throw this.#failed(path, what, error);
    }
  }

  #failed(path: string, what: string, error: unknown) {
    const name = relative(this.#root, path) || '.';
    return failed(this.#codePrefix, `cannot ${what} ${JSON.stringify(name)} in the volume`, error);
  }
}

/** Where `id` goes: below the size, into the range; inside the range or above both, nowhere. */
function shifted(id: number, host: number, size: number): number {
  if (id >= host && id < host + size) return id;
  return id < size ? host + id : id;
}

/** Mount points strictly below `dir`, as paths under `dir` as given (the walk's spelling). */
async function mountPointsBelow(dir: string): Promise<Set<string>> {
  const real = await realpath(dir);
  const text = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  const below = new Set<string>();
  for (const line of text.split('\n')) {
    // `id parent major:minor root mountpoint …`; the kernel escapes space, tab, newline, backslash.
    const field = line.split(' ')[4];
    if (!field) continue;
    const mountPoint = field.replace(/\\([0-7]{3})/g, (_, octal: string) =>
      String.fromCharCode(Number.parseInt(octal, 8)),
    );
    if (mountPoint.startsWith(real + sep)) below.add(join(dir, relative(real, mountPoint)));
  }
  return below;
}

function failed(codePrefix: string, what: string, error: unknown) {
  const reason = isErrno(error, 'EPERM')
    ? 'operation not permitted; changing owners needs root (CAP_CHOWN)'
    : error instanceof Error
      ? error.message
      : String(error);
  return volumeError(codePrefix, 'OWNERSHIP_FAILED', `${what}: ${reason}`, { cause: error });
}
