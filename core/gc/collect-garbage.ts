import {
  deleteContainerRecord,
  deleteVolumeRecord,
  knownContainerHandles,
  knownVolumeHandles,
  listDestroyableVolumes,
  listDestroyingContainers,
  markGarbage,
  markStaleCaches,
  type Pool,
} from '../db/index.js';
import { ConveyorError } from '../errors/index.js';
import type { PluginClient } from '../plugins/index.js';
import { BUILD_LABEL, ownerLabels } from './labels.js';

export interface GcOptions {
  pool: Pool;
  /** The runtime plugins, by the name rows record (`containers.runtime`). */
  runtimes: ReadonlyMap<string, PluginClient<'runtime'>>;
  /** The volume drivers, by the name rows record (`volumes.driver`). */
  volumeDrivers: ReadonlyMap<string, PluginClient<'volume'>>;
  /** Only rows of this worker (default: every row). */
  worker?: string | undefined;
  /** Per plugin call. Default 60 s. */
  callTimeoutMs?: number | undefined;
  /**
   * This installation's id: the orphan sweep takes only what carries it. Without it, everything
   * labelled as Conveyor's (a single installation per runtime and driver storage).
   */
  installation?: string | undefined;
  /** A resource cache not used for this long goes. Default 24 hours. */
  cacheIdleMs?: number | undefined;
}

const kDefaultCacheIdleMs = 24 * 60 * 60_000;

export interface GcReport {
  /** Handles destroyed because their rows said so (or their builds had finished). */
  containers: string[];
  volumes: string[];
  /** Handles found in a plugin with Conveyor's label but without a row, and destroyed. */
  orphanContainers: string[];
  orphanVolumes: string[];
  /** What could not be destroyed this time (the rows stay for the next pass). */
  errors: ConveyorError[];
}

/**
 * One garbage collection pass, safe to repeat and to run in several processes at once:
 *
 * 1. Containers and volumes of finished (or deleted) builds move to 'destroying' (unless kept,
 *    e.g. a failed build's for `cc intercept`), and so do stale caches' volumes: resource caches
 *    unused for `cacheIdleMs`, caches whose filling build died, task caches of removed jobs.
 * 2. Each 'destroying' container is destroyed through its runtime, then its row deleted.
 * 3. Each 'destroying' volume is destroyed through its driver once no child volume and no
 *    container row refers to it (children first, so a copy-on-write parent outlives its clones),
 *    then its row deleted; this repeats while it makes progress.
 * 4. Each plugin's containers and volumes labelled `conveyor.dev/owner=conveyor` that have no row
 *    are destroyed (children before parents).
 *
 * A plugin that fails (or is not configured) leaves the row in place for the next pass; its error
 * is in the report.
 */
export async function collectGarbage(options: GcOptions): Promise<GcReport> {
  const { pool, worker } = options;
  const timeoutMs = options.callTimeoutMs ?? 60_000;
  const report: GcReport = {
    containers: [],
    volumes: [],
    orphanContainers: [],
    orphanVolumes: [],
    errors: [],
  };

  await markStaleCaches(pool, { idleMs: options.cacheIdleMs ?? kDefaultCacheIdleMs });
  await markGarbage(pool, { worker, buildLabel: BUILD_LABEL });

  for (const row of await listDestroyingContainers(pool, worker)) {
    const runtime = options.runtimes.get(row.runtime);
    if (runtime === undefined) {
      report.errors.push(unknownPlugin('container', row.handle, 'runtime', row.runtime));
      continue;
    }
    try {
      await runtime.call('destroyContainer', { handle: row.handle }, { timeoutMs });
      await deleteContainerRecord(pool, row.handle);
      report.containers.push(row.handle);
    } catch (error: unknown) {
      report.errors.push(destroyFailed('container', row.handle, error));
    }
  }

  const failed = new Set<string>();
  for (;;) {
    const ready = (await listDestroyableVolumes(pool, worker)).filter((row) => !failed.has(row.handle));
    if (ready.length === 0) break;
    for (const row of ready) {
      const driver = options.volumeDrivers.get(row.driver);
      if (driver === undefined) {
        failed.add(row.handle);
        report.errors.push(unknownPlugin('volume', row.handle, 'volume driver', row.driver));
        continue;
      }
      try {
        await driver.call('destroyVolume', { handle: row.handle }, { timeoutMs });
        await deleteVolumeRecord(pool, row.handle);
        report.volumes.push(row.handle);
      } catch (error: unknown) {
        failed.add(row.handle);
        report.errors.push(destroyFailed('volume', row.handle, error));
      }
    }
  }

  const labels = ownerLabels(options.installation);
  for (const [name, runtime] of options.runtimes) {
    try {
      const { containers } = await runtime.call('listContainers', { labels }, { timeoutMs });
      const known = await knownContainerHandles(
        pool,
        containers.map((container) => container.handle),
      );
      for (const container of containers) {
        if (known.has(container.handle)) continue;
        try {
          await runtime.call('destroyContainer', { handle: container.handle }, { timeoutMs });
          report.orphanContainers.push(container.handle);
        } catch (error: unknown) {
          report.errors.push(destroyFailed('container', container.handle, error));
        }
      }
    } catch (error: unknown) {
      report.errors.push(listFailed('containers', 'runtime', name, error));
    }
  }

  for (const [name, driver] of options.volumeDrivers) {
    try {
      const { volumes } = await driver.call('listVolumes', { labels }, { timeoutMs });
      const known = await knownVolumeHandles(
        pool,
        volumes.map((volume) => volume.volume.handle),
      );
      const orphans = volumes.filter((volume) => !known.has(volume.volume.handle));
      for (const volume of childrenFirst(orphans)) {
        try {
          await driver.call('destroyVolume', { handle: volume.volume.handle }, { timeoutMs });
          report.orphanVolumes.push(volume.volume.handle);
        } catch (error: unknown) {
          report.errors.push(destroyFailed('volume', volume.volume.handle, error));
        }
      }
    } catch (error: unknown) {
      report.errors.push(listFailed('volumes', 'volume driver', name, error));
    }
  }
  return report;
}

/** Orders volumes so that each comes before its parent (when the parent is among them). */
function childrenFirst<V extends { volume: { handle: string }; parent?: string | undefined }>(
  volumes: V[],
): V[] {
  const parents = new Map(volumes.map((volume) => [volume.volume.handle, volume.parent]));
  const depth = (handle: string): number => {
    let d = 0;
    const seen = new Set<string>();
    for (
      let parent = parents.get(handle);
      parent !== undefined && !seen.has(parent);
      parent = parents.get(parent)
    ) {
      seen.add(parent);
      d++;
    }
    return d;
  };
  return [...volumes].sort((a, b) => depth(b.volume.handle) - depth(a.volume.handle));
}

function destroyFailed(kind: 'container' | 'volume', handle: string, cause: unknown): ConveyorError {
  return new ConveyorError(
    'CC_E_SCHEDULER_GC_DESTROY_FAILED',
    `gc could not destroy ${kind} ${handle}; it tries again on its next pass`,
    { cause, details: { kind, handle } },
  );
}

function unknownPlugin(
  kind: 'container' | 'volume',
  handle: string,
  pluginKind: string,
  name: string,
): ConveyorError {
  return new ConveyorError(
    'CC_E_SCHEDULER_GC_DESTROY_FAILED',
    `gc cannot destroy ${kind} ${handle}: no ${pluginKind} plugin named ${JSON.stringify(name)} is configured here`,
    { details: { kind, handle, plugin: name } },
  );
}

function listFailed(what: string, pluginKind: string, name: string, cause: unknown): ConveyorError {
  return new ConveyorError(
    'CC_E_SCHEDULER_GC_DESTROY_FAILED',
    `gc could not list the ${what} of ${pluginKind} ${name} to look for leftovers; it tries again on its next pass`,
    { cause, details: { plugin: name } },
  );
}
