import type { PoolClient } from '../pool.js';
import type { ResourceVersionRow, Version, VersionMetadata } from './rows.js';
import { requestResourceScheduling } from './schedule-requests.js';

/** A version to store, as check or put reported it. */
export interface VersionToSave {
  version: Version;
  metadata?: VersionMetadata | undefined;
}

/**
 * Stores versions in the order given (oldest first): each gets the next check order, so the last
 * one is the resource's newest version. A version already known moves up to its new place, as
 * Concourse does; the one already newest and given first stays where it is, so a check that
 * finds nothing new (it returns just the version it was given) writes nothing.
 */
const SAVE_VERSIONS = `
  WITH given AS (
    SELECT g.version, g.metadata, g.ord
    FROM unnest($3::jsonb[], $4::jsonb[]) WITH ORDINALITY AS g (version, metadata, ord)
  ), top AS (
    SELECT coalesce(max(check_order), 0) AS co FROM resource_versions WHERE resource_id = $1 AND scope = $2
  )
  INSERT INTO resource_versions AS v (resource_id, scope, version, metadata, check_order)
  SELECT $1, $2, given.version, coalesce(given.metadata, '[]'::jsonb), top.co + given.ord
  FROM given, top
  ORDER BY given.ord
  ON CONFLICT (resource_id, scope, version_digest) DO UPDATE SET
    check_order = excluded.check_order,
    metadata = CASE WHEN excluded.metadata = '[]'::jsonb THEN v.metadata ELSE excluded.metadata END
  WHERE NOT (v.check_order = (SELECT co FROM top) AND excluded.check_order = (SELECT co FROM top) + 1)
  RETURNING v.id`;

const SELECT_SAVED = `
  SELECT v.id, v.resource_id, v.version, v.metadata, v.check_order, v.enabled, v.created_at
  FROM resource_versions v
  WHERE v.resource_id = $1 AND v.scope = $2
    AND v.version_digest IN (SELECT conveyor_version_digest(g) FROM unnest($3::jsonb[]) AS g)
  ORDER BY v.check_order`;

export interface SavedVersions {
  /** The given versions as stored, oldest first. */
  versions: ResourceVersionRow[];
  /** Whether anything was added or reordered (jobs triggered by the resource were then asked to schedule). */
  changed: boolean;
}

/**
 * Saves check or put results in the caller's transaction. `scope` is the resource's version scope
 * the versions belong to (the one the check started with): when set-pipeline has started a new
 * history since, the results are stale and nothing is saved (resolves null).
 */
export async function saveResourceVersions(
  client: PoolClient,
  resourceId: number,
  versions: readonly VersionToSave[],
  scope?: number,
): Promise<SavedVersions | null> {
  // Serialises the resource's writers (a check and a put), so check orders never tie.
  const { rows } = await client.query<{ version_scope: number }>({
    name: 'conveyor_lock_resource_versions',
    text: 'SELECT version_scope FROM resources WHERE id = $1 FOR NO KEY UPDATE',
    values: [resourceId],
  });
  const current = rows[0]?.version_scope;
  if (current === undefined || (scope !== undefined && scope !== current)) return null;

  // One statement cannot touch a row twice: a version given twice counts at its last place.
  const unique = new Map<string, VersionToSave>();
  for (const entry of versions) {
    const key = canonical(entry.version);
    unique.delete(key);
    unique.set(key, entry);
  }
  const given = [...unique.values()];
  if (given.length === 0) return { versions: [], changed: false };

  const versionTexts = given.map((entry) => JSON.stringify(entry.version));
  const { rowCount } = await client.query({
    name: 'conveyor_save_resource_versions',
    text: SAVE_VERSIONS,
    values: [
      resourceId,
      current,
      versionTexts,
      given.map((entry) => (entry.metadata === undefined ? null : JSON.stringify(entry.metadata))),
    ],
  });
  const changed = (rowCount ?? 0) > 0;
  if (changed) await requestResourceScheduling(client, resourceId, true);
  const { rows: saved } = await client.query<ResourceVersionRow>({
    name: 'conveyor_select_saved_versions',
    text: SELECT_SAVED,
    values: [resourceId, current, versionTexts],
  });
  return { versions: saved, changed };
}

/** Equal versions print alike whatever their key order. */
function canonical(version: Version): string {
  return JSON.stringify(Object.entries(version).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
