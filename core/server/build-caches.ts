import { createHash, randomBytes } from 'node:crypto';
import type { IdMapping, VolumeRef } from '@conveyor/plugin-api';
import { canonicalJson } from '../config/index.js';
import {
  abandonCacheVolume,
  claimResourceCache,
  claimTaskCache,
  markResourceCacheReady,
  markTaskCacheReady,
  type Pool,
  useResourceCache,
  useTaskCache,
} from '../db/index.js';
import type { BuildCaches, ResourceCacheRequest } from '../executor/index.js';
import { ownerLabels } from '../gc/index.js';
import type { PluginClient } from '../plugins/index.js';

/** Cache volumes carry the owner label (gc's orphan sweep knows them by their rows) and no build. */
export const CACHE_ROLE_LABEL = 'conveyor.dev/cache';

export interface BuildCachesOptions {
  pool: Pool;
  volumes: PluginClient<'volume'>;
  volumeDriverName: string;
  worker: string;
  /** This installation's id, labelled on every cache volume (gc's orphan sweep goes by it). */
  installation?: string | undefined;
  build: { id: number; jobId: number | null };
}

/**
 * A build's view of the resource and task caches on its worker, kept in Postgres (which volume
 * holds what) and made by the volume driver. A cache volume belongs to the cache, not the build:
 * the build's own steps get children of it (resource caches) or mount it (task caches).
 */
export function buildCaches(options: BuildCachesOptions): BuildCaches {
  const { pool, volumes, worker, build } = options;

  /** Records a cache volume, then makes it; a failure leaves it to gc, never half-recorded. */
  const makeVolume = async (
    claim: (record: {
      handle: string;
      driver: string;
      worker: string;
      labels: Record<string, string>;
    }) => Promise<boolean>,
    kind: 'resource' | 'task',
    idMapping?: IdMapping,
  ): Promise<{ handle: string; volume: VolumeRef } | null> => {
    const handle = `${kind === 'resource' ? 'rc' : 'tc'}-${randomBytes(8).toString('hex')}`;
    const labels = { ...ownerLabels(options.installation), [CACHE_ROLE_LABEL]: kind };
    if (!(await claim({ handle, driver: options.volumeDriverName, worker, labels }))) return null;
    try {
      const reply = await volumes.call('createVolume', {
        handle,
        strategy: { type: 'empty' },
        labels,
        ...(idMapping ? { idMapping } : {}),
      });
      return { handle, volume: reply.volume.volume };
    } catch (error) {
      await abandonCacheVolume(pool, handle).catch(() => undefined);
      throw error;
    }
  };

  return {
    async resource(request) {
      const key = resourceCacheKey(request);
      const hit = await useResourceCache(pool, worker, key);
      if (hit) {
        return {
          state: 'ready',
          volume: hit.volume,
          version: hit.version,
          ...(hit.metadata ? { metadata: hit.metadata } : {}),
        };
      }
      const made = await makeVolume(
        (volume) =>
          claimResourceCache(pool, {
            key,
            resourceType: request.resourceType,
            version: request.version,
            buildId: build.id,
            volume,
          }),
        'resource',
      );
      // Another build is filling it: this one fetches for itself rather than wait.
      if (!made) return { state: 'none' };
      return {
        state: 'fill',
        volume: made.volume,
        ready: (fetched) => markResourceCacheReady(pool, made.handle, made.volume, fetched.metadata),
        abandon: () => abandonCacheVolume(pool, made.handle),
      };
    },

    async task(stepName, path, taskOptions = {}) {
      if (build.jobId === null) return null;
      const key = { jobId: build.jobId, stepName, path, worker };
      const found = await useTaskCache(pool, key);
      if (found) return found.volume;
      const made = await makeVolume(
        (volume) => claimTaskCache(pool, key, volume),
        'task',
        taskOptions.idMapping,
      );
      if (!made) return null;
      try {
        await markTaskCacheReady(pool, made.handle, made.volume);
      } catch (error) {
        await abandonCacheVolume(pool, made.handle).catch(() => undefined);
        throw error;
      }
      return made.volume;
    },
  };
}

/**
 * The cache key: a digest of the plugin, source, version and params in a canonical form (keys
 * sorted), so equal requests meet and no credential in a source is stored as it is.
 */
export function resourceCacheKey(request: ResourceCacheRequest): string {
  const canonical = canonicalJson({
    type: request.resourceType,
    source: request.source,
    version: request.version,
    params: request.params ?? {},
    idMapping: request.idMapping ?? null,
  });
  return createHash('sha256').update(canonical).digest('hex');
}
