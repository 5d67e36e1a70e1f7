import type { Queryable } from '../pool.js';
import type { ContainerRow, ContainerState } from './rows.js';

const CONTAINER_COLUMNS =
  'id, handle, runtime, worker, state, build_id, plan_id, labels, created_at, updated_at';

export interface ContainerRecord {
  handle: string;
  /** The runtime plugin's name. */
  runtime: string;
  worker: string;
  buildId?: number | null | undefined;
  /** The plan step the container serves. */
  planId?: string | null | undefined;
  labels?: Record<string, string> | undefined;
  /** Default 'creating': the row is written before the runtime is asked, so a crash leaks nothing. */
  state?: ContainerState | undefined;
}

/** Records a container, before asking the runtime for it. */
export async function recordContainer(db: Queryable, record: ContainerRecord): Promise<ContainerRow> {
  const { rows } = await db.query<ContainerRow>({
    name: 'conveyor_record_container',
    text: `
      INSERT INTO containers (handle, runtime, worker, state, build_id, plan_id, labels)
      VALUES ($1, $2, $3, $4, $5, $6, $7)
      RETURNING ${CONTAINER_COLUMNS}`,
    values: [
      record.handle,
      record.runtime,
      record.worker,
      record.state ?? 'creating',
      record.buildId ?? null,
      record.planId ?? null,
      JSON.stringify(record.labels ?? {}),
    ],
  });
  return rows[0] as ContainerRow;
}

/** creating → created once the runtime made it; → destroying when it is no longer needed. */
export async function setContainerState(
  db: Queryable,
  handle: string,
  state: ContainerState,
): Promise<boolean> {
  const { rowCount } = await db.query({
    name: 'conveyor_set_container_state',
    text: 'UPDATE containers SET state = $2, updated_at = now() WHERE handle = $1',
    values: [handle, state],
  });
  return (rowCount ?? 0) > 0;
}

export interface ContainerFilter {
  buildId?: number | undefined;
  state?: ContainerState | undefined;
  worker?: string | undefined;
  runtime?: string | undefined;
}

export async function listContainerRecords(
  db: Queryable,
  filter: ContainerFilter = {},
): Promise<ContainerRow[]> {
  const { rows } = await db.query<ContainerRow>(
    `SELECT ${CONTAINER_COLUMNS} FROM containers
     WHERE ($1::bigint IS NULL OR build_id = $1) AND ($2::text IS NULL OR state = $2)
       AND ($3::text IS NULL OR worker = $3) AND ($4::text IS NULL OR runtime = $4)
     ORDER BY id`,
    [filter.buildId ?? null, filter.state ?? null, filter.worker ?? null, filter.runtime ?? null],
  );
  return rows;
}

/** Forgets a container the runtime has destroyed. Resolves false when there was no such row. */
export async function deleteContainerRecord(db: Queryable, handle: string): Promise<boolean> {
  const { rowCount } = await db.query({
    name: 'conveyor_delete_container',
    text: 'DELETE FROM containers WHERE handle = $1',
    values: [handle],
  });
  return (rowCount ?? 0) > 0;
}

/** Adds labels to the rows of these containers (gc reads some, e.g. keep-until). */
export async function labelContainerRecords(
  db: Queryable,
  handles: readonly string[],
  labels: Record<string, string>,
): Promise<number> {
  if (handles.length === 0) return 0;
  const { rowCount } = await db.query({
    name: 'conveyor_label_containers',
    text: `UPDATE containers SET labels = labels || $2::jsonb, updated_at = now() WHERE handle = ANY($1::text[])`,
    values: [handles, JSON.stringify(labels)],
  });
  return rowCount ?? 0;
}
