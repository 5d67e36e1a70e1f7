import type { Queryable } from '../pool.js';

/** A container or volume moving through creating → created → destroying → gone. */
export interface TrackedChange {
  kind: 'container' | 'volume';
  handle: string;
  state: 'creating' | 'created' | 'destroying' | 'gone';
  /** The runtime (containers) or volume driver (volumes) plugin's name; used when creating. */
  plugin: string;
  worker: string;
  buildId: number | null;
  /** A volume's copy-on-write parent, given when it is created: gc destroys the child first. */
  parent?: string | null | undefined;
}

/**
 * One statement per table for a batch of changes: `creating` inserts the row (before the plugin is
 * asked, so a crash leaks nothing), `created`/`destroying` update it, `gone` deletes it. A batch
 * must not hold two changes of one handle (a handle's changes are made one after the other).
 */
function applySql(table: 'containers' | 'volumes', pluginColumn: 'runtime' | 'driver'): string {
  return `
    WITH changes AS (
      SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[])
        AS c (handle, state, plugin, worker, build_id, parent)
    ), created AS (
      INSERT INTO ${table} (handle, ${pluginColumn}, worker, state, build_id${table === 'volumes' ? ', parent_handle' : ''})
      SELECT handle, plugin, worker, state, build_id${table === 'volumes' ? ', parent' : ''}
      FROM changes WHERE state = 'creating'
      RETURNING handle
    ), updated AS (
      UPDATE ${table} t SET state = c.state, updated_at = now() FROM changes c
      WHERE t.handle = c.handle AND c.state IN ('created', 'destroying')
      RETURNING t.handle
    ), deleted AS (
      DELETE FROM ${table} t USING changes c WHERE t.handle = c.handle AND c.state = 'gone'
      RETURNING t.handle
    )
    SELECT handle FROM created UNION ALL SELECT handle FROM updated UNION ALL SELECT handle FROM deleted`;
}

const APPLY = {
  container: { name: 'conveyor_track_containers', text: applySql('containers', 'runtime') },
  volume: { name: 'conveyor_track_volumes', text: applySql('volumes', 'driver') },
} as const;

/**
 * Records a batch of container and volume changes; resolves, per change, whether a row was
 * written (false: an update or delete found no row).
 */
export async function applyTrackedChanges(
  db: Queryable,
  changes: readonly TrackedChange[],
): Promise<boolean[]> {
  const touched = new Set<string>();
  for (const kind of ['container', 'volume'] as const) {
    const ofKind = changes.filter((change) => change.kind === kind);
    if (ofKind.length === 0) continue;
    const { rows } = await db.query<{ handle: string }>({
      ...APPLY[kind],
      values: [
        ofKind.map((c) => c.handle),
        ofKind.map((c) => c.state),
        ofKind.map((c) => c.plugin),
        ofKind.map((c) => c.worker),
        ofKind.map((c) => c.buildId),
        ofKind.map((c) => c.parent ?? null),
      ],
    });
    for (const row of rows) touched.add(`${kind}:${row.handle}`);
  }
  return changes.map((change) => touched.has(`${change.kind}:${change.handle}`));
}
