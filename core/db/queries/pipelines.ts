import { ConveyorError } from '../../errors/index.js';
import type { Pool, Queryable } from '../pool.js';
import { pipelineNotFound } from './not-found.js';
import type { PipelineRow } from './rows.js';
import { requestPipelineScheduling } from './schedule-requests.js';
import { withTransaction } from './transaction.js';

const PIPELINE_COLUMNS = `
  p.id, p.team_id, t.name AS team_name, p.name, p.config, p.config_text, p.config_version,
  p.paused, p.paused_by, p.paused_at, p.archived, p.ordering, p.created_at, p.updated_at`;

/** A pipeline with the YAML it was set from. */
export interface PipelineWithText extends PipelineRow {
  config_text: string | null;
}

/** The pipeline `name` of `team`, or null. */
export async function getPipeline(
  db: Queryable,
  team: string,
  name: string,
): Promise<PipelineWithText | null> {
  const { rows } = await db.query<PipelineWithText>(
    `SELECT ${PIPELINE_COLUMNS} FROM pipelines p JOIN teams t ON t.id = p.team_id
     WHERE t.name = $1 AND p.name = $2`,
    [team, name],
  );
  return rows[0] ?? null;
}

export async function getPipelineById(db: Queryable, pipelineId: number): Promise<PipelineWithText | null> {
  const { rows } = await db.query<PipelineWithText>(
    `SELECT ${PIPELINE_COLUMNS} FROM pipelines p JOIN teams t ON t.id = p.team_id WHERE p.id = $1`,
    [pipelineId],
  );
  return rows[0] ?? null;
}

/** The pipelines of one team (or of all teams), in display order. */
export async function listPipelines(db: Queryable, options: { team?: string } = {}): Promise<PipelineRow[]> {
  const { rows } = await db.query<PipelineRow>(
    `SELECT ${PIPELINE_COLUMNS.replace(', p.config_text', '')}
     FROM pipelines p JOIN teams t ON t.id = p.team_id
     WHERE $1::text IS NULL OR t.name = $1
     ORDER BY t.name, p.ordering, p.name`,
    [options.team ?? null],
  );
  return rows;
}

/** Stops scheduling the pipeline's jobs, starting their pending builds and checking its resources. */
export async function pausePipeline(db: Queryable, pipelineId: number, by?: string): Promise<void> {
  const { rowCount } = await db.query(
    `UPDATE pipelines SET paused = true, paused_by = $2, paused_at = now(), updated_at = now()
     WHERE id = $1`,
    [pipelineId, by ?? null],
  );
  if (rowCount === 0) throw pipelineNotFound(pipelineId);
}

/** Schedules the pipeline again; an archived pipeline must be set again instead. */
export async function unpausePipeline(pool: Pool, pipelineId: number): Promise<void> {
  await withTransaction(pool, async (client) => {
    const { rows } = await client.query<{ archived: boolean; name: string }>(
      'SELECT archived, name FROM pipelines WHERE id = $1 FOR NO KEY UPDATE',
      [pipelineId],
    );
    const pipeline = rows[0];
    if (pipeline === undefined) throw pipelineNotFound(pipelineId);
    if (pipeline.archived) {
      throw new ConveyorError(
        'CC_E_SCHEDULER_PIPELINE_ARCHIVED',
        `pipeline ${JSON.stringify(pipeline.name)} is archived and cannot be unpaused: set its configuration again to restore it`,
        { details: { pipelineId } },
      );
    }
    await client.query(
      'UPDATE pipelines SET paused = false, paused_by = NULL, paused_at = NULL, updated_at = now() WHERE id = $1',
      [pipelineId],
    );
    await requestPipelineScheduling(client, pipelineId);
  });
}

/**
 * Archives the pipeline: paused for good (until set again), its resources no longer checked, its
 * builds kept.
 */
export async function archivePipeline(db: Queryable, pipelineId: number): Promise<void> {
  const { rowCount } = await db.query(
    `UPDATE pipelines SET archived = true, paused = true, paused_at = coalesce(paused_at, now()), updated_at = now()
     WHERE id = $1`,
    [pipelineId],
  );
  if (rowCount === 0) throw pipelineNotFound(pipelineId);
}

/**
 * Deletes the pipeline with its jobs, resources, versions, builds and events. Its containers and
 * volumes keep their rows (build_id set to NULL) for gc to reap. Resolves false when there was no
 * such pipeline.
 */
export async function destroyPipeline(db: Queryable, pipelineId: number): Promise<boolean> {
  const { rowCount } = await db.query('DELETE FROM pipelines WHERE id = $1', [pipelineId]);
  return (rowCount ?? 0) > 0;
}
