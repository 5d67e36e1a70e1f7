import { ConveyorError } from '../../errors/index.js';
import type { Pool, Queryable } from '../pool.js';
import { buildNotFound } from './not-found.js';
import type { BuildVersionRow, ResourceVersionRow, Version, VersionMetadata } from './rows.js';
import { saveResourceVersions } from './save-resource-versions.js';
import { withTransaction } from './transaction.js';

/** The versions the build got, by input name. */
export async function listBuildInputs(db: Queryable, buildId: number): Promise<BuildVersionRow[]> {
  const { rows } = await db.query<BuildVersionRow>({
    name: 'conveyor_list_build_inputs',
    text: `
      SELECT i.build_id, i.name, r.id AS resource_id, r.name AS resource_name,
        v.id AS resource_version_id, v.version, v.metadata, i.first_occurrence
      FROM build_inputs i
      JOIN resource_versions v ON v.id = i.resource_version_id
      JOIN resources r ON r.id = v.resource_id
      WHERE i.build_id = $1
      ORDER BY i.name`,
    values: [buildId],
  });
  return rows;
}

/** The versions the build's puts produced. */
export async function listBuildOutputs(db: Queryable, buildId: number): Promise<BuildVersionRow[]> {
  const { rows } = await db.query<BuildVersionRow>(
    `SELECT o.build_id, o.name, r.id AS resource_id, r.name AS resource_name,
       v.id AS resource_version_id, v.version, v.metadata, NULL::boolean AS first_occurrence
     FROM build_outputs o
     JOIN resource_versions v ON v.id = o.resource_version_id
     JOIN resources r ON r.id = v.resource_id
     WHERE o.build_id = $1
     ORDER BY o.name, v.check_order`,
    [buildId],
  );
  return rows;
}

export interface BuildOutputInput {
  /** The output's name in the plan (the put step). */
  name: string;
  /** The resource put to, by name, in the build's pipeline. */
  resource: string;
  version: Version;
  metadata?: VersionMetadata | undefined;
}

/**
 * Records what a put produced: the version becomes the resource's newest (as if a check had
 * found it, so jobs it triggers are asked to schedule) and an output of the build, which is what
 * lets it pass to jobs with `passed:` this job once the build succeeds.
 */
export async function saveBuildOutput(
  pool: Pool,
  buildId: number,
  output: BuildOutputInput,
): Promise<ResourceVersionRow> {
  return withTransaction(pool, async (client) => {
    const { rows } = await client.query<{ pipeline_id: number | null; resource_id: number | null }>(
      `SELECT b.pipeline_id, r.id AS resource_id
       FROM builds b LEFT JOIN resources r ON r.pipeline_id = b.pipeline_id AND r.name = $2
       WHERE b.id = $1`,
      [buildId, output.resource],
    );
    const found = rows[0];
    if (found === undefined) throw buildNotFound(buildId);
    if (found.resource_id === null) {
      throw new ConveyorError(
        'CC_E_SCHEDULER_RESOURCE_NOT_FOUND',
        `build ${buildId} put to resource ${JSON.stringify(output.resource)}, which its pipeline does not have`,
        { details: { buildId, resource: output.resource } },
      );
    }
    const saved = await saveResourceVersions(client, found.resource_id, [
      { version: output.version, metadata: output.metadata },
    ]);
    const version = saved?.versions[0];
    if (version === undefined)
      throw new Error(`saving the output version of build ${buildId} stored nothing`);
    await client.query(
      `INSERT INTO build_outputs (build_id, name, resource_version_id) VALUES ($1, $2, $3)
       ON CONFLICT DO NOTHING`,
      [buildId, output.name, version.id],
    );
    return version;
  });
}
