import { ConveyorError } from '../../errors/index.js';
import type { Pool, PoolClient, Queryable } from '../pool.js';
import { resourceNotFound } from './not-found.js';
import { checkPage, queryPage } from './paging.js';
import type { Page, PageOptions, ResourceRow, ResourceVersionRow, Version } from './rows.js';
import { requestResourceScheduling } from './schedule-requests.js';
import { withTransaction } from './transaction.js';

const RESOURCE_COLUMNS = `
  r.id, r.pipeline_id, r.name, r.type, r.source, r.config, r.active,
  (extract(epoch FROM r.check_every) * 1000)::bigint AS check_every_ms,
  r.next_check_at, r.last_checked_at, r.last_check_error, r.check_requested_at, r.version_scope,
  r.pinned_version_id, pv.version AS pinned_version, r.pin_comment,
  r.config -> 'pinnedVersion' AS config_pinned_version,
  r.created_at, r.updated_at`;

const RESOURCE_FROM = 'resources r LEFT JOIN resource_versions pv ON pv.id = r.pinned_version_id';

const VERSION_COLUMNS = 'v.id, v.resource_id, v.version, v.metadata, v.check_order, v.enabled, v.created_at';

/** The pipeline's active resources with their check state and pins, in config order. */
export async function listResources(db: Queryable, pipelineId: number): Promise<ResourceRow[]> {
  const { rows } = await db.query<ResourceRow>(
    `SELECT ${RESOURCE_COLUMNS} FROM ${RESOURCE_FROM} WHERE r.pipeline_id = $1 AND r.active ORDER BY r.id`,
    [pipelineId],
  );
  return rows;
}

export async function getResource(db: Queryable, resourceId: number): Promise<ResourceRow | null> {
  const { rows } = await db.query<ResourceRow>(
    `SELECT ${RESOURCE_COLUMNS} FROM ${RESOURCE_FROM} WHERE r.id = $1`,
    [resourceId],
  );
  return rows[0] ?? null;
}

export async function getResourceByName(
  db: Queryable,
  pipelineId: number,
  name: string,
): Promise<ResourceRow | null> {
  const { rows } = await db.query<ResourceRow>(
    `SELECT ${RESOURCE_COLUMNS} FROM ${RESOURCE_FROM} WHERE r.pipeline_id = $1 AND r.name = $2`,
    [pipelineId, name],
  );
  return rows[0] ?? null;
}

/**
 * The resource's versions (of its current history), newest first in check order. Page cursors are
 * version ids, as the API has them; a cursor that is not a version of the resource starts nowhere.
 */
export async function listResourceVersions(
  db: Queryable,
  resourceId: number,
  options: PageOptions = {},
): Promise<Page<ResourceVersionRow>> {
  checkPage(options);
  const cursorId = options.before ?? options.since;
  let order: number | null = null;
  if (cursorId !== undefined) {
    const { rows } = await db.query<{ check_order: number }>(
      'SELECT check_order FROM resource_versions WHERE id = $1 AND resource_id = $2',
      [cursorId, resourceId],
    );
    order = rows[0]?.check_order ?? null;
    if (order === null) return { items: [], hasOlder: false, hasNewer: false };
  }
  return queryPage<ResourceVersionRow & Record<string, unknown>>(
    db,
    {
      select: VERSION_COLUMNS,
      from: 'resource_versions v JOIN resources r ON r.id = v.resource_id AND v.scope = r.version_scope',
      where: 'v.resource_id = $1',
      params: [resourceId],
      key: 'v.check_order',
    },
    options,
    (row) => row.check_order,
    {
      before: options.before === undefined ? null : order,
      since: options.since === undefined ? null : order,
    },
  );
}

/**
 * The version of the resource's current history equal to `version`, else the newest one that
 * contains it (so `{ ref: abc }` finds `{ ref: abc, branch: main }`, as Concourse's pins do).
 */
export async function findResourceVersion(
  db: Queryable,
  resourceId: number,
  version: Version,
): Promise<ResourceVersionRow | null> {
  const { rows } = await db.query<ResourceVersionRow>({
    name: 'conveyor_find_resource_version',
    text: `
      SELECT ${VERSION_COLUMNS}
      FROM resource_versions v JOIN resources r ON r.id = v.resource_id AND v.scope = r.version_scope
      WHERE v.resource_id = $1 AND v.version @> $2::jsonb
      ORDER BY v.version_digest = conveyor_version_digest($2::jsonb) DESC, v.check_order DESC
      LIMIT 1`,
    values: [resourceId, JSON.stringify(version)],
  });
  return rows[0] ?? null;
}

export interface PinOptions {
  /** The version to pin, whole or a part that identifies it. */
  version?: Version | undefined;
  /** Or the version's id. */
  versionId?: number | undefined;
  comment?: string | undefined;
}

/**
 * Pins the resource to one version through the API (`cc pin-resource`): every job gets that
 * version until it is unpinned. A pin in the config wins, so pinning such a resource is refused.
 * Resolves the pinned version.
 */
export async function pinResourceVersion(
  pool: Pool,
  resourceId: number,
  options: PinOptions,
): Promise<ResourceVersionRow> {
  if ((options.version === undefined) === (options.versionId === undefined)) {
    throw new TypeError('pinResourceVersion needs exactly one of options.version and options.versionId');
  }
  return withTransaction(pool, async (client) => {
    const resource = await lockResource(client, resourceId);
    if (resource.config_pinned) {
      throw new ConveyorError(
        'CC_E_SCHEDULER_RESOURCE_PINNED_IN_CONFIG',
        `resource ${JSON.stringify(resource.name)} is pinned by \`version:\` in the pipeline configuration; change the pin there`,
        { details: { resourceId } },
      );
    }
    const version =
      options.version !== undefined
        ? await findResourceVersion(client, resourceId, options.version)
        : await versionById(client, resourceId, options.versionId ?? 0);
    if (version === null) {
      const wanted =
        options.version !== undefined ? JSON.stringify(options.version) : `id ${options.versionId}`;
      throw new ConveyorError(
        'CC_E_SCHEDULER_VERSION_NOT_FOUND',
        `resource ${JSON.stringify(resource.name)} has no version ${wanted}`,
        { details: { resourceId, version: options.version, versionId: options.versionId } },
      );
    }
    await client.query(
      'UPDATE resources SET pinned_version_id = $2, pin_comment = $3, updated_at = now() WHERE id = $1',
      [resourceId, version.id, options.comment ?? null],
    );
    await requestResourceScheduling(client, resourceId, false);
    return version;
  });
}

/** Removes the API pin (a config pin stays: it is part of the configuration). */
export async function unpinResource(pool: Pool, resourceId: number): Promise<void> {
  await withTransaction(pool, async (client) => {
    await lockResource(client, resourceId);
    await client.query(
      'UPDATE resources SET pinned_version_id = NULL, pin_comment = NULL, updated_at = now() WHERE id = $1',
      [resourceId],
    );
    await requestResourceScheduling(client, resourceId, false);
  });
}

/** A disabled version is never chosen as an input (nor passes `passed:` constraints). */
export async function setResourceVersionEnabled(
  pool: Pool,
  resourceId: number,
  versionId: number,
  enabled: boolean,
): Promise<void> {
  await withTransaction(pool, async (client) => {
    const { rowCount } = await client.query(
      'UPDATE resource_versions SET enabled = $3 WHERE id = $2 AND resource_id = $1',
      [resourceId, versionId, enabled],
    );
    if (rowCount === 0) {
      throw new ConveyorError(
        'CC_E_SCHEDULER_VERSION_NOT_FOUND',
        `resource ${resourceId} has no version with id ${versionId}`,
        { details: { resourceId, versionId } },
      );
    }
    await requestResourceScheduling(client, resourceId, false);
  });
}

/**
 * Asks for a check as soon as a checker is free, whatever `check_every` says (`never` included)
 * and even in a paused pipeline.
 */
export async function requestResourceCheck(db: Queryable, resourceId: number): Promise<void> {
  const { rowCount } = await db.query(
    // The latest request counts: one made while a check runs asks for another check after it.
    `UPDATE resources SET check_requested_at = clock_timestamp() WHERE id = $1 AND active`,
    [resourceId],
  );
  if (rowCount === 0) throw resourceNotFound(resourceId);
}

async function lockResource(
  client: PoolClient,
  resourceId: number,
): Promise<{ name: string; config_pinned: boolean }> {
  const { rows } = await client.query<{ name: string; config_pinned: boolean }>(
    `SELECT name, config ? 'pinnedVersion' AS config_pinned FROM resources WHERE id = $1 AND active FOR NO KEY UPDATE`,
    [resourceId],
  );
  const resource = rows[0];
  if (resource === undefined) throw resourceNotFound(resourceId);
  return resource;
}

async function versionById(
  db: Queryable,
  resourceId: number,
  versionId: number,
): Promise<ResourceVersionRow | null> {
  const { rows } = await db.query<ResourceVersionRow>(
    `SELECT ${VERSION_COLUMNS}
     FROM resource_versions v JOIN resources r ON r.id = v.resource_id AND v.scope = r.version_scope
     WHERE v.resource_id = $1 AND v.id = $2`,
    [resourceId, versionId],
  );
  return rows[0] ?? null;
}

/** Resource versions by id (any order; unknown ids are left out). */
export async function getResourceVersionsByIds(
  db: Queryable,
  ids: readonly number[],
): Promise<ResourceVersionRow[]> {
  if (ids.length === 0) return [];
  const { rows } = await db.query<ResourceVersionRow>({
    name: 'conveyor_resource_versions_by_ids',
    text: `SELECT ${VERSION_COLUMNS} FROM resource_versions v WHERE v.id = ANY($1::bigint[])`,
    values: [ids],
  });
  return rows;
}
