import type { Queryable } from '../pool.js';
import type { ContainerRow, VolumeRow } from './rows.js';

/**
 * A row labelled KEEP_UNTIL_LABEL with a time still to come is kept past its build: a one-off
 * build's outputs wait there for `cc execute` to download them, and the containers and volumes of
 * a failed job build wait to be intercepted, until a newer build of the job has finished.
 */
export const KEEP_UNTIL_LABEL = 'conveyor.dev/keep-until';
const KEPT = `
  (c.labels ? '${KEEP_UNTIL_LABEL}' AND (c.labels ->> '${KEEP_UNTIL_LABEL}')::timestamptz > now()
   AND NOT EXISTS (
     SELECT 1 FROM builds b JOIN builds newer ON newer.job_id = b.job_id AND newer.id > b.id
     WHERE b.id = c.build_id AND newer.status IN ('succeeded', 'failed', 'errored', 'aborted')))`;

/**
 * A row of no build labelled EXPIRES_LABEL with a time that has passed is garbage: what a process
 * made for a while outside any build (a check's container) and would have released itself, had it
 * not crashed first.
 */
export const EXPIRES_LABEL = 'conveyor.dev/expires';

/**
 * Containers and volumes no build needs any more: those of finished builds, those whose build
 * was deleted (build_id went NULL but the row still carries the build label `$2`), unless kept,
 * and those of no build that expired. Other rows without a build (caches) are their owner's to
 * release.
 */
function markSql(table: 'containers' | 'volumes'): string {
  return `
    UPDATE ${table} c SET state = 'destroying', updated_at = now()
    WHERE c.state <> 'destroying' AND ($1::text IS NULL OR c.worker = $1)
      AND (
        EXISTS (SELECT 1 FROM builds b
                WHERE b.id = c.build_id AND b.status IN ('succeeded', 'failed', 'errored', 'aborted'))
        OR (c.build_id IS NULL AND c.labels ? $2)
        OR (c.build_id IS NULL AND (c.labels ->> '${EXPIRES_LABEL}')::timestamptz < now())
      )
      AND NOT ${KEPT}`;
}
const MARK_CONTAINERS = markSql('containers');
const MARK_VOLUMES = markSql('volumes');

/** Moves what no build needs any more to 'destroying'; resolves how many rows moved. */
export async function markGarbage(
  db: Queryable,
  options: { worker?: string | undefined; buildLabel: string },
): Promise<{ containers: number; volumes: number }> {
  const values = [options.worker ?? null, options.buildLabel];
  const containers = await db.query({ name: 'conveyor_gc_mark_containers', text: MARK_CONTAINERS, values });
  const volumes = await db.query({ name: 'conveyor_gc_mark_volumes', text: MARK_VOLUMES, values });
  return { containers: containers.rowCount ?? 0, volumes: volumes.rowCount ?? 0 };
}

export async function listDestroyingContainers(db: Queryable, worker?: string): Promise<ContainerRow[]> {
  const { rows } = await db.query<ContainerRow>({
    name: 'conveyor_gc_destroying_containers',
    text: `
      SELECT id, handle, runtime, worker, state, build_id, plan_id, labels, created_at, updated_at
      FROM containers WHERE state = 'destroying' AND ($1::text IS NULL OR worker = $1)
      ORDER BY id`,
    values: [worker ?? null],
  });
  return rows;
}

/**
 * Volumes in 'destroying' that can go now: no child volume names them as parent (children go
 * first) and no container that mounts them is left (containers go first).
 */
export async function listDestroyableVolumes(db: Queryable, worker?: string): Promise<VolumeRow[]> {
  const { rows } = await db.query<VolumeRow>({
    name: 'conveyor_gc_destroyable_volumes',
    text: `
      SELECT v.id, v.handle, v.driver, v.worker, v.state, v.build_id, v.container_handle, v.parent_handle,
        v.labels, v.created_at, v.updated_at
      FROM volumes v
      WHERE v.state = 'destroying' AND ($1::text IS NULL OR v.worker = $1)
        AND NOT EXISTS (SELECT 1 FROM volumes child WHERE child.parent_handle = v.handle)
        AND NOT EXISTS (SELECT 1 FROM containers c WHERE c.handle = v.container_handle)
      ORDER BY v.id`,
    values: [worker ?? null],
  });
  return rows;
}

/** Which of these container handles have a row (any state). */
export async function knownContainerHandles(db: Queryable, handles: readonly string[]): Promise<Set<string>> {
  if (handles.length === 0) return new Set();
  const { rows } = await db.query<{ handle: string }>({
    name: 'conveyor_gc_known_containers',
    text: 'SELECT handle FROM containers WHERE handle = ANY($1::text[])',
    values: [handles],
  });
  return new Set(rows.map((row) => row.handle));
}

/** Which of these volume handles have a row (any state). */
export async function knownVolumeHandles(db: Queryable, handles: readonly string[]): Promise<Set<string>> {
  if (handles.length === 0) return new Set();
  const { rows } = await db.query<{ handle: string }>({
    name: 'conveyor_gc_known_volumes',
    text: 'SELECT handle FROM volumes WHERE handle = ANY($1::text[])',
    values: [handles],
  });
  return new Set(rows.map((row) => row.handle));
}
