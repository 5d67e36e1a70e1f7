import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Labels } from '../generated/common.generated.js';
import type { VolumeInfo } from '../generated/volume.generated.js';
import { volumeError } from './errors.js';
import { exists, isErrno } from './paths.js';
import { removeTree } from './remove-tree.js';

/** volume.json: what a driver knows about a volume besides its bytes. Drivers may add fields. */
export interface VolumeRecord {
  handle: string;
  labels: Labels;
  parent?: string;
  createdAt: string;
}

export interface VolumeStoreOptions {
  /** Directory that holds the volumes. */
  root: string;
  /** The driver's plugin name, as VolumeRef.driver reports it. */
  driver: string;
  /** The driver's error code prefix: `NAIVE` makes `NAIVE_VOLUME_NOT_FOUND`. */
  codePrefix: string;
  /**
   * Undo what removing files cannot, before a volume's directory is removed: unmount an overlay,
   * delete a btrfs subvolume. Runs on destroy and on the leftovers of crashed processes, so it must
   * cope with a directory that is only partly made.
   */
  release?: (volumeDir: string) => Promise<void>;
}

const RECORD_FILE = 'volume.json';
const DATA_DIR = 'data';
/** Work in progress is named `.creating-<pid>-…` or `.destroying-<pid>-…`; listVolumes never reports it. */
const STAGING = /^\.(?:creating|destroying)-(\d+)-/;

/**
 * Volumes as `<root>/<handle>/{volume.json,data,…}`: `data` is what the volume's location points
 * at, and a driver may keep more beside it (an overlay's upper and work directories). A volume
 * appears under its handle in one rename, complete with its record, and leaves the same way, so a
 * crash at any point leaves either a whole volume or a dot-named leftover that is swept later.
 * Everything is on disk: a restarted process finds every volume as it was.
 */
export class VolumeStore<R extends VolumeRecord = VolumeRecord> {
  readonly root: string;
  readonly driver: string;
  readonly codePrefix: string;
  readonly #release: ((volumeDir: string) => Promise<void>) | undefined;

  constructor(options: VolumeStoreOptions) {
    this.root = options.root;
    this.driver = options.driver;
    this.codePrefix = options.codePrefix;
    this.#release = options.release;
  }

  volumeDir(handle: string): string {
    return join(this.root, handle);
  }

  dataDir(handle: string): string {
    return join(this.root, handle, DATA_DIR);
  }

  async read(handle: string): Promise<R | undefined> {
    try {
      return JSON.parse(await readFile(join(this.root, handle, RECORD_FILE), 'utf8')) as R;
    } catch (error) {
      if (isErrno(error, 'ENOENT') || isErrno(error, 'ENOTDIR')) return undefined;
      throw error;
    }
  }

  /** The volume's record; `<prefix>_VOLUME_NOT_FOUND` when there is none. */
  async get(handle: string): Promise<R> {
    const record = await this.read(handle);
    if (!record) {
      throw volumeError(
        this.codePrefix,
        'VOLUME_NOT_FOUND',
        `volume ${handle} does not exist in ${this.root}`,
      );
    }
    return record;
  }

  /** The record of the parent a child is to be made of; `<prefix>_PARENT_NOT_FOUND` when there is none. */
  async getParent(handle: string, parent: string): Promise<R> {
    const record = await this.read(parent);
    if (!record) {
      throw volumeError(
        this.codePrefix,
        'PARENT_NOT_FOUND',
        `cannot create volume ${handle} as a child of ${parent}: no such volume in ${this.root}`,
      );
    }
    return record;
  }

  /**
   * Create a volume: `populate` makes its data directory (and whatever else the driver keeps in
   * the volume's directory) in a staging directory that then appears under the handle.
   */
  async create(record: R, populate: (dataDir: string, volumeDir: string) => Promise<void>): Promise<R> {
    const target = this.volumeDir(record.handle);
    await mkdir(this.root, { recursive: true });
    if (await exists(target)) throw this.#alreadyExists(record.handle);
    const staging = this.#stagingPath('creating', record.handle);
    try {
      await mkdir(staging);
      await populate(join(staging, DATA_DIR), staging);
      await writeFile(join(staging, RECORD_FILE), `${JSON.stringify(record, null, 2)}\n`);
      await rename(staging, target);
    } catch (error) {
      await this.#remove(staging);
      // Another call created the same handle while this one was populating.
      if (isErrno(error, 'ENOTEMPTY') || isErrno(error, 'EEXIST')) throw this.#alreadyExists(record.handle);
      throw error;
    }
    return record;
  }

  /** Remove a volume; false when there was none. */
  async destroy(handle: string): Promise<boolean> {
    const doomed = this.#stagingPath('destroying', handle);
    try {
      await rename(this.volumeDir(handle), doomed);
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return false;
      throw error;
    }
    await this.#remove(doomed);
    return true;
  }

  /** Every complete volume, by handle; leftovers of crashed processes are swept on the way. */
  async list(): Promise<R[]> {
    let names: string[];
    try {
      names = await readdir(this.root);
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return [];
      throw error;
    }
    const records: R[] = [];
    for (const name of names.sort()) {
      if (name.startsWith('.')) {
        await this.#sweep(name);
        continue;
      }
      const record = await this.read(name);
      if (record) records.push(record);
    }
    return records;
  }

  info(record: R): VolumeInfo {
    return {
      volume: {
        handle: record.handle,
        driver: this.driver,
        location: { type: 'host-path', path: this.dataDir(record.handle) },
      },
      ...(record.parent ? { parent: record.parent } : {}),
      labels: record.labels,
      createdAt: record.createdAt,
    };
  }

  async #remove(dir: string): Promise<void> {
    if (this.#release && (await exists(dir))) await this.#release(dir);
    await removeTree(dir);
  }

  #stagingPath(what: 'creating' | 'destroying', handle: string): string {
    return join(this.root, `.${what}-${process.pid}-${handle}-${randomBytes(4).toString('hex')}`);
  }

  /** Remove a staging directory whose process is gone; a live process may still be using it. */
  async #sweep(name: string): Promise<void> {
    const pid = Number(STAGING.exec(name)?.[1]);
    if (!pid || pid === process.pid || isAlive(pid)) return;
    await this.#remove(join(this.root, name));
  }

  #alreadyExists(handle: string) {
    return volumeError(
      this.codePrefix,
      'VOLUME_EXISTS',
      `volume ${handle} already exists in ${this.root}; choose another handle or destroy it first`,
    );
  }
}

/** True when a volume's labels hold every wanted name/value pair. */
export function matchesLabels(labels: Labels, wanted: Labels | undefined): boolean {
  return Object.entries(wanted ?? {}).every(([key, value]) => labels[key] === value);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return !isErrno(error, 'ESRCH');
  }
}
