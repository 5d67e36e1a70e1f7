import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Labels, PluginError, type volume } from '@conveyor/plugin-api';
import { DRIVER_NAME } from './config.js';
import { exists, isErrno } from './paths.js';
import { removeTree } from './remove-tree.js';

/** volume.json: what the driver knows about a volume besides its bytes. */
export interface VolumeRecord {
  handle: string;
  labels: Labels;
  parent?: string;
  privileged?: boolean;
  createdAt: string;
}

const RECORD_FILE = 'volume.json';
const DATA_DIR = 'data';
/** Work in progress is named `.creating-<pid>-…` or `.destroying-<pid>-…`; listVolumes never reports it. */
const STAGING = /^\.(?:creating|destroying)-(\d+)-/;

/**
 * Volumes as `<root>/<handle>/{data,volume.json}`. A volume appears under its handle in one
 * rename, complete with its record, and leaves the same way, so a crash at any point leaves
 * either a whole volume or a dot-named leftover that is swept later.
 */
export class VolumeStore {
  readonly root: string;

  constructor(root: string) {
    this.root = root;
  }

  dataDir(handle: string): string {
    return join(this.root, handle, DATA_DIR);
  }

  async read(handle: string): Promise<VolumeRecord | undefined> {
    try {
      return JSON.parse(await readFile(join(this.root, handle, RECORD_FILE), 'utf8')) as VolumeRecord;
    } catch (error) {
      if (isErrno(error, 'ENOENT') || isErrno(error, 'ENOTDIR')) return undefined;
      throw error;
    }
  }

  async get(handle: string): Promise<VolumeRecord> {
    const record = await this.read(handle);
    if (!record) {
      throw new PluginError('NAIVE_VOLUME_NOT_FOUND', `volume ${handle} does not exist in ${this.root}`);
    }
    return record;
  }

  /** Create a volume whose data directory `populate` makes. */
  async create(record: VolumeRecord, populate: (dataDir: string) => Promise<void>): Promise<VolumeRecord> {
    const target = join(this.root, record.handle);
    await mkdir(this.root, { recursive: true });
    if (await exists(target)) throw alreadyExists(record.handle, this.root);
    const staging = this.#stagingPath('creating', record.handle);
    try {
      await mkdir(staging);
      await populate(join(staging, DATA_DIR));
      await writeFile(join(staging, RECORD_FILE), `${JSON.stringify(record, null, 2)}\n`);
      await rename(staging, target);
    } catch (error) {
      await removeTree(staging);
      // Another call created the same handle while this one was copying.
      if (isErrno(error, 'ENOTEMPTY') || isErrno(error, 'EEXIST'))
        throw alreadyExists(record.handle, this.root);
      throw error;
    }
    return record;
  }

  /** Remove a volume; false when there was none. */
  async destroy(handle: string): Promise<boolean> {
    const doomed = this.#stagingPath('destroying', handle);
    try {
      await rename(join(this.root, handle), doomed);
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return false;
      throw error;
    }
    await removeTree(doomed);
    return true;
  }

  /** Every complete volume; leftovers of crashed processes are swept on the way. */
  async list(): Promise<VolumeRecord[]> {
    let names: string[];
    try {
      names = await readdir(this.root);
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return [];
      throw error;
    }
    const records: VolumeRecord[] = [];
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

  info(record: VolumeRecord): volume.VolumeInfo {
    return {
      volume: {
        handle: record.handle,
        driver: DRIVER_NAME,
        location: { type: 'host-path', path: this.dataDir(record.handle) },
      },
      ...(record.parent ? { parent: record.parent } : {}),
      labels: record.labels,
      createdAt: record.createdAt,
    };
  }

  #stagingPath(what: 'creating' | 'destroying', handle: string): string {
    return join(this.root, `.${what}-${process.pid}-${handle}-${randomBytes(4).toString('hex')}`);
  }

  /** Remove a staging directory whose process is gone; a live process may still be using it. */
  async #sweep(name: string): Promise<void> {
    const pid = Number(STAGING.exec(name)?.[1]);
    if (!pid || pid === process.pid || isAlive(pid)) return;
    await removeTree(join(this.root, name));
  }
}

export function matchesLabels(labels: Labels, wanted: Labels | undefined): boolean {
  return Object.entries(wanted ?? {}).every(([key, value]) => labels[key] === value);
}

function alreadyExists(handle: string, root: string): PluginError {
  return new PluginError(
    'NAIVE_VOLUME_EXISTS',
    `volume ${handle} already exists in ${root}; choose another handle or destroy it first`,
  );
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return !isErrno(error, 'ESRCH');
  }
}
