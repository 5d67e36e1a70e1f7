import type { PluginKind } from '@conveyor/plugin-api';
import { ConveyorError } from '../errors/index.js';
import type { Queryable } from './pool.js';

/** Where a plugin came from: shipped with Conveyor, installed from a registry, or linked for development. */
export type PluginSource = 'builtin' | 'installed' | 'linked';

/** A plugin as discovery finds it on disk. */
export interface DiscoveredPlugin {
  name: string;
  version: string;
  kind: PluginKind;
  apiVersion: string;
  source: PluginSource;
  path: string;
  /** Digest of the installed artifact (`sha256:…`); absent for built-in and linked plugins. */
  digest?: string | undefined;
}

/** A row of installed_plugins, column names kept. */
export interface InstalledPluginRow {
  id: number;
  name: string;
  version: string;
  kind: PluginKind;
  api_version: string;
  source: PluginSource;
  path: string;
  digest: string | null;
  installed_at: Date;
  updated_at: Date;
}

/**
 * Upserts the discovered set and deletes every row not in it, in one statement (so one
 * transaction) with array parameters: a startup with a hundred plugins is one round trip.
 * Rows that did not change are not rewritten.
 */
const SYNC_PLUGINS = `
  WITH discovered AS (
    SELECT *
    FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
      AS d (name, version, kind, api_version, source, path, digest)
  ), upserted AS (
    INSERT INTO installed_plugins (name, version, kind, api_version, source, path, digest)
    SELECT name, version, kind, api_version, source, path, digest FROM discovered
    ON CONFLICT (name, version) DO UPDATE
      SET kind = excluded.kind, api_version = excluded.api_version, source = excluded.source,
          path = excluded.path, digest = excluded.digest, updated_at = now()
      WHERE (installed_plugins.kind, installed_plugins.api_version, installed_plugins.source,
             installed_plugins.path, installed_plugins.digest)
        IS DISTINCT FROM (excluded.kind, excluded.api_version, excluded.source, excluded.path, excluded.digest)
    RETURNING 1
  ), deleted AS (
    DELETE FROM installed_plugins AS p
    WHERE NOT EXISTS (SELECT 1 FROM discovered AS d WHERE d.name = p.name AND d.version = p.version)
    RETURNING 1
  )
  SELECT (SELECT count(*) FROM upserted)::integer AS written, (SELECT count(*) FROM deleted)::integer AS deleted`;

export interface SyncPluginsResult {
  /** Rows inserted or changed. */
  readonly written: number;
  /** Rows of plugins no longer present. */
  readonly deleted: number;
}

/** Makes installed_plugins hold exactly `plugins`. */
export async function syncInstalledPlugins(
  db: Queryable,
  plugins: readonly DiscoveredPlugin[],
): Promise<SyncPluginsResult> {
  const seen = new Set<string>();
  for (const plugin of plugins) {
    const key = `${plugin.name}@${plugin.version}`;
    // One statement cannot upsert one row twice; and two copies of one version is a setup mistake.
    if (seen.has(key)) {
      throw new ConveyorError(
        'CC_E_DB_PLUGIN_DUPLICATE',
        `Plugin ${key} was found twice (one copy at ${plugin.path}). Remove one of the copies.`,
        { details: { plugin: key, path: plugin.path } },
      );
    }
    seen.add(key);
  }
  const { rows } = await db.query<{ written: number; deleted: number }>(SYNC_PLUGINS, [
    plugins.map((plugin) => plugin.name),
    plugins.map((plugin) => plugin.version),
    plugins.map((plugin) => plugin.kind),
    plugins.map((plugin) => plugin.apiVersion),
    plugins.map((plugin) => plugin.source),
    plugins.map((plugin) => plugin.path),
    plugins.map((plugin) => plugin.digest ?? null),
  ]);
  return { written: rows[0]?.written ?? 0, deleted: rows[0]?.deleted ?? 0 };
}

export async function listInstalledPlugins(db: Queryable): Promise<InstalledPluginRow[]> {
  const { rows } = await db.query<InstalledPluginRow>(
    `SELECT id, name, version, kind, api_version, source, path, digest, installed_at, updated_at
     FROM installed_plugins ORDER BY name, version`,
  );
  return rows;
}
