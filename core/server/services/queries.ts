import type { Queryable, ResourceVersionRow } from '../../db/index.js';

/*
 * The few reads the services need that core/db does not offer: whether a team exists (to name the
 * outermost missing part of a path), and one version of a resource's current history by id.
 */

export async function teamExists(db: Queryable, team: string): Promise<boolean> {
  const { rows } = await db.query<{ found: boolean }>({
    name: 'conveyor_api_team_exists',
    text: 'SELECT EXISTS (SELECT 1 FROM teams WHERE name = $1) AS found',
    values: [team],
  });
  return rows[0]?.found === true;
}

/** A version of the resource's current history (older histories are no longer its versions). */
export async function currentVersion(
  db: Queryable,
  resourceId: number,
  versionId: number,
): Promise<ResourceVersionRow | null> {
  const { rows } = await db.query<ResourceVersionRow>({
    name: 'conveyor_api_current_version',
    text: `
      SELECT v.id, v.resource_id, v.version, v.metadata, v.check_order, v.enabled, v.created_at
      FROM resource_versions v JOIN resources r ON r.id = v.resource_id AND v.scope = r.version_scope
      WHERE v.resource_id = $1 AND v.id = $2`,
    values: [resourceId, versionId],
  });
  return rows[0] ?? null;
}
