import type { Queryable } from '../pool.js';

/** What running a job's build needs from the database besides the build row. */
export interface BuildContextRow {
  build_id: number;
  /** The job's config as stored by set-pipeline (null for a one-off build or a removed job). */
  job_config: unknown;
  pipeline_config: unknown;
  /** The versions the build got, by input name. */
  inputs: Array<{ name: string; version: Record<string, string> }>;
}

/**
 * The job config, pipeline config and input versions of several builds in one round trip, so a
 * runner that claimed a batch of builds prepares them all at once.
 */
export async function loadBuildContexts(
  db: Queryable,
  buildIds: readonly number[],
): Promise<Map<number, BuildContextRow>> {
  if (buildIds.length === 0) return new Map();
  const { rows } = await db.query<BuildContextRow>({
    name: 'conveyor_load_build_contexts',
    text: `
      SELECT b.id AS build_id, j.config AS job_config, p.config AS pipeline_config,
        coalesce((
          SELECT json_agg(json_build_object('name', i.name, 'version', v.version) ORDER BY i.name)
          FROM build_inputs i JOIN resource_versions v ON v.id = i.resource_version_id
          WHERE i.build_id = b.id
        ), '[]'::json) AS inputs
      FROM builds b
      LEFT JOIN jobs j ON j.id = b.job_id
      LEFT JOIN pipelines p ON p.id = b.pipeline_id
      WHERE b.id = ANY($1::bigint[])`,
    values: [buildIds],
  });
  return new Map(rows.map((row) => [row.build_id, row]));
}
