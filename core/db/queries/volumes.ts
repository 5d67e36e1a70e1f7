import type { Queryable } from '../pool.js';
import type { VolumeRow, VolumeState } from './rows.js';

const VOLUME_COLUMNS =
  'id, handle, driver, worker, state, build_id, container_handle, parent_handle, labels, created_at, updated_at';

export interface VolumeRecord {
  handle: string;
  /** The volume driver plugin's name. */
  driver: string;
  worker: string;
  buildId?: number | null | undefined;
  /** The container it is mounted into. */
  containerHandle?: string | null | undefined;
  /** The volume it is a copy-on-write child of: the parent outlives it. */
  parentHandle?: string | null | undefined;
  labels?: Record<string, string> | undefined;
  /** Default 'creating': the row is written before the driver is asked, so a crash leaks nothing. */
  state?: VolumeState | undefined;
}

/** Records a volume, before asking the driver for it. */
export async function recordVolume(db: Queryable, record: VolumeRecord): Promise<VolumeRow> {
  const { rows } = await db.query<VolumeRow>({
    name: 'conveyor_record_volume',
    text: `
      INSERT INTO volumes (handle, driver, worker, state, build_id, container_handle, parent_handle, labels)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
      RETURNING ${VOLUME_COLUMNS}`,
    values: [
      record.handle,
      record.driver,
      record.worker,
      record.state ?? 'creating',
      record.buildId ?? null,
      record.containerHandle ?? null,
      record.parentHandle ?? null,
      JSON.stringify(record.labels ?? {}),
    ],
  });
  return rows[0] as VolumeRow;
}

export async function setVolumeState(db: Queryable, handle: string, state: VolumeState): Promise<boolean> {
  const { rowCount } = await db.query({
    name: 'conveyor_set_volume_state',
    text: 'UPDATE volumes SET state = $2, updated_at = now() WHERE handle = $1',
    values: [handle, state],
  });
  return (rowCount ?? 0) > 0;
}

export interface VolumeFilter {
  buildId?: number | undefined;
  state?: VolumeState | undefined;
  worker?: string | undefined;
  driver?: string | undefined;
}

export async function listVolumeRecords(db: Queryable, filter: VolumeFilter = {}): Promise<VolumeRow[]> {
  const { rows } = await db.query<VolumeRow>(
    `SELECT ${VOLUME_COLUMNS} FROM volumes
     WHERE ($1::bigint IS NULL OR build_id = $1) AND ($2::text IS NULL OR state = $2)
       AND ($3::text IS NULL OR worker = $3) AND ($4::text IS NULL OR driver = $4)
     ORDER BY id`,
    [filter.buildId ?? null, filter.state ?? null, filter.worker ?? null, filter.driver ?? null],
  );
  return rows;
}

/**
 * Forgets a volume the driver has destroyed. Resolves false when there was no such row; rejects
 * (foreign key violation) while child volumes still name it as their parent.
 */
export async function deleteVolumeRecord(db: Queryable, handle: string): Promise<boolean> {
  const { rowCount } = await db.query({
    name: 'conveyor_delete_volume',
    text: 'DELETE FROM volumes WHERE handle = $1',
    values: [handle],
  });
  return (rowCount ?? 0) > 0;
}

/** Adds labels to a volume's row (merged over those it has); resolves whether the row exists. */
export async function labelVolumeRecord(
  db: Queryable,
  handle: string,
  labels: Record<string, string>,
): Promise<boolean> {
  const { rowCount } = await db.query({
    name: 'conveyor_label_volume',
    text: `UPDATE volumes SET labels = labels || $2::jsonb, updated_at = now() WHERE handle = $1`,
    values: [handle, JSON.stringify(labels)],
  });
  return (rowCount ?? 0) > 0;
}

/** Adds labels to the rows of these volumes (gc reads some, e.g. keep-until). */
export async function labelVolumeRecords(
  db: Queryable,
  handles: readonly string[],
  labels: Record<string, string>,
): Promise<number> {
  if (handles.length === 0) return 0;
  const { rowCount } = await db.query({
    name: 'conveyor_label_volumes',
    text: `UPDATE volumes SET labels = labels || $2::jsonb, updated_at = now() WHERE handle = ANY($1::text[])`,
    values: [handles, JSON.stringify(labels)],
  });
  return rowCount ?? 0;
}
