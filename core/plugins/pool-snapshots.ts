import { randomBytes } from 'node:crypto';
import { copyFileSync, linkSync, mkdirSync, readdirSync, readlinkSync, rmSync, symlinkSync } from 'node:fs';
import { readdir, rm, rmdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { DiscoveredPlugin } from './discovery.js';

/** Under the store, dot-named so discovery passes it by. */
const kSnapshotsDir = '.in-use';

/**
 * The files an installed plugin's pool runs from, kept for as long as the pool lives. The store
 * is the CLI's: `cc plugin update` and `cc plugin remove` take a version out of it while a build
 * that started with that version still runs, and a pool starts its worker threads lazily (and
 * again once idle ones have ended), each importing the plugin afresh. So the host hard-links each
 * installed package it runs into a directory of its own and loads it from there: under the store
 * (one filesystem, and `<store>/node_modules` still resolves the host's packages), costing no
 * copy, since the CLI never changes a file in place (it renames whole versions in and out).
 */
export class PoolSnapshots {
  readonly #store: string;
  readonly #dir: string;

  constructor(store: string) {
    this.#store = store;
    this.#dir = join(store, kSnapshotsDir, `${process.pid}-${randomBytes(4).toString('hex')}`);
  }

  /**
   * What a pool of `plugin` runs from: for an installed version, its files linked into this host's
   * snapshot (synchronously: pools are made on demand); where none can be made (a read-only store,
   * a full disk), the store itself, as before snapshots, rather than not at all. A built-in or
   * linked plugin runs where it is.
   */
  runFrom(plugin: DiscoveredPlugin): DiscoveredPlugin {
    if (plugin.source !== 'installed') return plugin;
    const dir = join(this.#dir, plugin.manifest.name, plugin.manifest.version);
    try {
      rmSync(dir, { recursive: true, force: true });
      linkTree(plugin.dir, dir);
    } catch {
      return plugin;
    }
    return { ...plugin, dir, entry: join(dir, relative(plugin.dir, plugin.entry)) };
  }

  async close(): Promise<void> {
    await rm(this.#dir, { recursive: true, force: true }).catch(() => undefined);
    // The store as it was, unless another host still runs plugins from it (then not empty).
    await rmdir(join(this.#store, kSnapshotsDir)).catch(() => undefined);
  }

  /** Remove the snapshots of hosts that are gone (a server that was killed leaves its own). */
  async sweep(): Promise<void> {
    const root = join(this.#store, kSnapshotsDir);
    const entries = await readdir(root).catch(() => [] as string[]);
    for (const name of entries) {
      const pid = Number(name.split('-')[0]);
      if (Number.isInteger(pid) && pid > 0 && !processExists(pid)) {
        await rm(join(root, name), { recursive: true, force: true });
      }
    }
  }
}

function linkTree(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const source = join(from, entry.name);
    const target = join(to, entry.name);
    if (entry.isDirectory()) linkTree(source, target);
    else if (entry.isSymbolicLink()) symlinkSync(readlinkSync(source), target);
    else {
      try {
        linkSync(source, target);
      } catch {
        // A store whose filesystem refuses hard links (or a file on another mount): a copy.
        copyFileSync(source, target);
      }
    }
  }
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
