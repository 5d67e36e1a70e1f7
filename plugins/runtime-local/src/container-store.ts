import { randomBytes } from 'node:crypto';
import { renameSync, writeFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Labels, PluginError, type runtime } from '@conveyor/plugin-api';
import { isErrno } from './errno.js';
import { aliveAmong, killGroups, liveGroups, signalGroup } from './process-groups.js';
import { removeTree } from './remove-tree.js';

/** container.json. Mode 0600: the spec's env may hold interpolated credentials. */
export interface ContainerRecord {
  handle: string;
  spec: runtime.ContainerSpec;
  labels: Labels;
  state: 'created';
  createdAt: string;
}

/** processes/<processId>.json: enough to find and kill the process's group from any thread. */
export interface ProcessRecord {
  processId: string;
  pid: number;
  pgid: number;
  path: string;
  startedAt: string;
  exitStatus?: number;
  exitedAt?: string;
}

const RECORD_FILE = 'container.json';
const ROOT_DIR = 'workdir';
const PROCESSES_DIR = 'processes';
/** Work in progress is named `.creating-<pid>-…` or `.destroying-<pid>-…`; listContainers never reports it. */
const STAGING = /^\.(?:creating|destroying)-(\d+)-/;

/**
 * Containers as `<root>/<handle>/{container.json,workdir/,processes/}`. `workdir/` is what the
 * step sees as `/`. A container appears under its handle in one rename, complete, and leaves the
 * same way, so every thread and every crash sees either all of it or none.
 */
export class ContainerStore {
  readonly root: string;

  constructor(root: string) {
    this.root = root;
  }

  /** The directory a container's step sees as `/`. */
  rootDir(handle: string): string {
    return join(this.root, handle, ROOT_DIR);
  }

  async read(handle: string): Promise<ContainerRecord | undefined> {
    try {
      return JSON.parse(await readFile(join(this.root, handle, RECORD_FILE), 'utf8')) as ContainerRecord;
    } catch (error) {
      if (isErrno(error, 'ENOENT') || isErrno(error, 'ENOTDIR')) return undefined;
      throw error;
    }
  }

  async get(handle: string): Promise<ContainerRecord> {
    const record = await this.read(handle);
    if (!record) throw notFound(handle, this.root);
    return record;
  }

  /** Create a container; `populate` lays out its root directory (mounts, working directory). */
  async create(record: ContainerRecord, populate: (rootDir: string) => Promise<void>): Promise<void> {
    const target = join(this.root, record.handle);
    await mkdir(this.root, { recursive: true });
    if (await this.read(record.handle)) throw alreadyExists(record.handle, this.root);
    const staging = this.#stagingPath('creating', record.handle);
    try {
      await mkdir(join(staging, ROOT_DIR), { recursive: true });
      await mkdir(join(staging, PROCESSES_DIR));
      await populate(join(staging, ROOT_DIR));
      await writeFile(join(staging, RECORD_FILE), `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
      await rename(staging, target);
    } catch (error) {
      await removeTree(staging);
      if (isErrno(error, 'ENOTEMPTY') || isErrno(error, 'EEXIST'))
        throw alreadyExists(record.handle, this.root);
      throw error;
    }
  }

  /**
   * Record a started process, synchronously and atomically (write, then rename): if destroy has
   * already moved the container away, this throws and the caller must kill what it started.
   */
  recordProcessSync(handle: string, record: ProcessRecord): void {
    const dir = join(this.root, handle, PROCESSES_DIR);
    const temporary = join(dir, `.${record.processId}.${randomBytes(4).toString('hex')}`);
    writeFileSync(temporary, JSON.stringify(record));
    renameSync(temporary, join(dir, `${record.processId}.json`));
  }

  /** Best effort: the container may be gone by the time its process exits. */
  updateProcess(handle: string, record: ProcessRecord): void {
    try {
      this.recordProcessSync(handle, record);
    } catch {
      // Destroyed meanwhile: nothing left to update.
    }
  }

  async readProcess(handle: string, processId: string): Promise<ProcessRecord | undefined> {
    try {
      const file = join(this.root, handle, PROCESSES_DIR, `${processId}.json`);
      return JSON.parse(await readFile(file, 'utf8')) as ProcessRecord;
    } catch (error) {
      if (isErrno(error, 'ENOENT') || isErrno(error, 'ENOTDIR')) return undefined;
      throw error;
    }
  }

  /**
   * Destroy a container: move it out of sight (no new process can be recorded in it from then
   * on), SIGKILL every process group it ever started, wait for them, remove the directory.
   * Mounted volumes are links and are left alone. False when there was no such container.
   */
  async destroy(handle: string, log: (line: string) => void): Promise<boolean> {
    const doomed = this.#stagingPath('destroying', handle);
    try {
      await rename(join(this.root, handle), doomed);
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return false;
      throw error;
    }
    await this.#reap(doomed, log);
    return true;
  }

  /** Every container, with its state worked out from its processes; leftovers of crashes are swept. */
  async list(): Promise<Array<{ record: ContainerRecord; state: runtime.ContainerState }>> {
    let names: string[];
    try {
      names = await readdir(this.root);
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return [];
      throw error;
    }
    const live = await liveGroups();
    const containers: Array<{ record: ContainerRecord; state: runtime.ContainerState }> = [];
    for (const name of names.sort()) {
      if (name.startsWith('.')) {
        await this.#sweep(name);
        continue;
      }
      const record = await this.read(name);
      if (!record) continue;
      const processes = await processesIn(join(this.root, name));
      const state = processes.some((p) => live.has(p.pgid))
        ? 'running'
        : processes.length
          ? 'stopped'
          : 'created';
      containers.push({ record, state });
    }
    return containers;
  }

  async #reap(dir: string, log: (line: string) => void): Promise<void> {
    const groups = (await processesIn(dir)).map((p) => p.pgid);
    const stuck = await killGroups(await aliveAmong(groups));
    for (const pgid of stuck) {
      log(
        `process group ${pgid} is still exiting after SIGKILL (uninterruptible I/O?); removing its container anyway`,
      );
    }
    await removeTree(dir);
  }

  #stagingPath(what: 'creating' | 'destroying', handle: string): string {
    return join(this.root, `.${what}-${process.pid}-${handle}-${randomBytes(4).toString('hex')}`);
  }

  /** Finish what a dead process left: a half-made container, or a half-destroyed one. */
  async #sweep(name: string): Promise<void> {
    const pid = Number(STAGING.exec(name)?.[1]);
    if (!pid || pid === process.pid || isProcessAlive(pid)) return;
    const dir = join(this.root, name);
    for (const { pgid } of await processesIn(dir)) signalGroup(pgid, 'SIGKILL');
    await removeTree(dir);
  }
}

async function processesIn(containerDir: string): Promise<ProcessRecord[]> {
  const dir = join(containerDir, PROCESSES_DIR);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return [];
    throw error;
  }
  const records: ProcessRecord[] = [];
  for (const name of names) {
    if (!name.endsWith('.json') || name.startsWith('.')) continue;
    // Records are written whole (write, then rename), so a record that does not parse is not ours.
    const text = await readFile(join(dir, name), 'utf8').catch(() => undefined);
    const record = text === undefined ? undefined : parseRecord(text);
    if (record) records.push(record);
  }
  return records;
}

function parseRecord(text: string): ProcessRecord | undefined {
  try {
    return JSON.parse(text) as ProcessRecord;
  } catch {
    return undefined;
  }
}

export function matchesLabels(labels: Labels, wanted: Labels | undefined): boolean {
  return Object.entries(wanted ?? {}).every(([key, value]) => labels[key] === value);
}

/** Is the Conveyor process that staged a container still alive? */
function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return !isErrno(error, 'ESRCH');
  }
}

function notFound(handle: string, root: string): PluginError {
  return new PluginError('LOCAL_CONTAINER_NOT_FOUND', `container ${handle} does not exist in ${root}`);
}

function alreadyExists(handle: string, root: string): PluginError {
  return new PluginError(
    'LOCAL_CONTAINER_EXISTS',
    `container ${handle} already exists in ${root}; choose another handle or destroy it first`,
  );
}
