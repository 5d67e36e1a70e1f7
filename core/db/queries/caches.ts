import type { Metadata, VolumeRef } from '@conveyor/plugin-api';
import type { Pool, Queryable } from '../pool.js';
import { withTransaction } from './transaction.js';

/*
 * Resource caches (a fetched version of a resource, shared by every get of it on a worker) and
 * task caches (a task's `caches:` path, kept per job and step). Both own their volume rows: the
 * rows carry no build, so a build's end leaves them alone; markStaleCaches hands them to gc.
 */

/** A cache volume's row, recorded before the driver is asked for it (as every volume's is). */
export interface CacheVolumeRecord {
  handle: string;
  driver: string;
  worker: string;
  labels: Record<string, string>;
}

export interface ReadyResourceCache {
  volume: VolumeRef;
  version: Record<string, string>;
  metadata: Metadata | null;
}

/** The ready cache for `key` on `worker`, marked as used now; null when there is none. */
export async function useResourceCache(
  db: Queryable,
  worker: string,
  key: string,
): Promise<ReadyResourceCache | null> {
  const { rows } = await db.query<ReadyResourceCache>({
    name: 'conveyor_use_resource_cache',
    text: `
      UPDATE resource_caches SET last_used_at = now()
      WHERE worker = $1 AND cache_key = $2 AND state = 'ready'
      RETURNING volume, version, metadata`,
    values: [worker, key],
  });
  return rows[0] ?? null;
}

/**
 * Takes the right to fill the cache for `key`: records its volume (`creating`) and the cache
 * (`filling`, for `buildId`) together. False, with nothing recorded, when the key already has a
 * cache (ready, or being filled by another build).
 */
export async function claimResourceCache(
  pool: Pool,
  cache: {
    key: string;
    resourceType: string;
    version: Record<string, string>;
    buildId: number | null;
    volume: CacheVolumeRecord;
  },
): Promise<boolean> {
  return withTransaction(pool, async (client) => {
    await insertCacheVolume(client, cache.volume);
    const { rowCount } = await client.query(
      `INSERT INTO resource_caches (cache_key, worker, state, volume_handle, resource_type, version, build_id)
       VALUES ($1, $2, 'filling', $3, $4, $5, $6)
       ON CONFLICT (worker, cache_key) DO NOTHING`,
      [
        cache.key,
        cache.volume.worker,
        cache.volume.handle,
        cache.resourceType,
        JSON.stringify(cache.version),
        cache.buildId,
      ],
    );
    if (rowCount === 1) return true;
    await client.query('DELETE FROM volumes WHERE handle = $1', [cache.volume.handle]);
    return false;
  });
}

/** The cache volume holds its version: from now on gets share it. */
export async function markResourceCacheReady(
  db: Queryable,
  handle: string,
  volume: VolumeRef,
  metadata: Metadata | undefined,
): Promise<void> {
  await db.query(
    `WITH ready AS (
       UPDATE resource_caches SET state = 'ready', volume = $2, metadata = $3, last_used_at = now()
       WHERE volume_handle = $1
     )
     UPDATE volumes SET state = 'created', updated_at = now() WHERE handle = $1`,
    [handle, JSON.stringify(volume), metadata === undefined ? null : JSON.stringify(metadata)],
  );
}

/** The cache could not be filled: it goes, and its volume to gc. */
export async function abandonCacheVolume(db: Queryable, handle: string): Promise<void> {
  await db.query(
    `WITH gone AS (DELETE FROM resource_caches WHERE volume_handle = $1),
          gone_task AS (DELETE FROM task_caches WHERE volume_handle = $1)
     UPDATE volumes SET state = 'destroying', updated_at = now() WHERE handle = $1`,
    [handle],
  );
}

export interface TaskCacheKey {
  jobId: number;
  stepName: string;
  path: string;
  worker: string;
}

/**
 * The task cache's volume, marked as used now: `{ volume }` when it is ready, `{ volume: null }`
 * while another build creates it, null when there is none yet.
 */
export async function useTaskCache(
  db: Queryable,
  key: TaskCacheKey,
): Promise<{ volume: VolumeRef | null } | null> {
  const { rows } = await db.query<{ volume: VolumeRef | null }>({
    name: 'conveyor_use_task_cache',
    text: `
      UPDATE task_caches SET last_used_at = now()
      WHERE job_id = $1 AND step_name = $2 AND path = $3 AND worker = $4
      RETURNING volume`,
    values: [key.jobId, key.stepName, key.path, key.worker],
  });
  return rows[0] ?? null;
}

/** Takes the right to create the task cache; false, with nothing recorded, when another build has it. */
export async function claimTaskCache(
  pool: Pool,
  key: TaskCacheKey,
  volume: CacheVolumeRecord,
): Promise<boolean> {
  return withTransaction(pool, async (client) => {
    await insertCacheVolume(client, volume);
    const { rowCount } = await client.query(
      `INSERT INTO task_caches (job_id, step_name, path, worker, volume_handle)
       VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (job_id, step_name, path, worker) DO NOTHING`,
      [key.jobId, key.stepName, key.path, key.worker, volume.handle],
    );
    if (rowCount === 1) return true;
    await client.query('DELETE FROM volumes WHERE handle = $1', [volume.handle]);
    return false;
  });
}

/** The task cache's volume exists: later builds mount it. */
export async function markTaskCacheReady(db: Queryable, handle: string, volume: VolumeRef): Promise<void> {
  await db.query(
    `WITH ready AS (UPDATE task_caches SET volume = $2 WHERE volume_handle = $1)
     UPDATE volumes SET state = 'created', updated_at = now() WHERE handle = $1`,
    [handle, JSON.stringify(volume)],
  );
}

/**
 * Hands caches nobody needs to gc (their volumes move to `destroying`; gc destroys a cache volume
 * only after the children builds made of it): resource caches unused for `idleMs`, caches whose
 * filling build ended without making them ready (a crash), and the task caches of jobs no longer
 * in their pipeline. Resolves how many went.
 */
export async function markStaleCaches(db: Queryable, options: { idleMs: number }): Promise<number> {
  const { rowCount } = await db.query({
    name: 'conveyor_gc_mark_stale_caches',
    text: `
      WITH stale_resource AS (
        DELETE FROM resource_caches rc
        WHERE (rc.state = 'ready' AND rc.last_used_at < now() - $1 * interval '1 millisecond')
           OR (rc.state = 'filling' AND NOT EXISTS (
                 SELECT 1 FROM builds b WHERE b.id = rc.build_id AND b.status IN ('pending', 'started')))
        RETURNING rc.volume_handle
      ), stale_task AS (
        DELETE FROM task_caches tc
        WHERE NOT EXISTS (SELECT 1 FROM jobs j WHERE j.id = tc.job_id AND j.active)
           OR (tc.volume IS NULL AND tc.created_at < now() - interval '1 hour')
        RETURNING tc.volume_handle
      )
      UPDATE volumes SET state = 'destroying', updated_at = now()
      WHERE handle IN (SELECT volume_handle FROM stale_resource UNION ALL SELECT volume_handle FROM stale_task)`,
    values: [options.idleMs],
  });
  return rowCount ?? 0;
}

async function insertCacheVolume(db: Queryable, volume: CacheVolumeRecord): Promise<void> {
  await db.query(
    `INSERT INTO volumes (handle, driver, worker, state, labels) VALUES ($1, $2, $3, 'creating', $4)`,
    [volume.handle, volume.driver, volume.worker, JSON.stringify(volume.labels)],
  );
}
