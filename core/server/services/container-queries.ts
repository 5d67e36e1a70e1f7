import type { ContainerState, Queryable, VolumeState } from '../../db/index.js';

/*
 * The containers and volumes of builds, with the build each serves: what `cc containers`,
 * `cc volumes` and `cc intercept` look up. Rows without a build (caches) belong to no team and
 * are not listed.
 */

/** Which builds' rows: each field given must match. */
export interface BuildRowsFilter {
  team?: string | undefined;
  pipeline?: string | undefined;
  job?: string | undefined;
  /** A build name of the job. */
  build?: string | undefined;
  buildId?: number | undefined;
}

/** What the rows of both tables share, with their build's names. */
interface BuildOwnedRow {
  handle: string;
  worker: string;
  state: ContainerState;
  build_id: number;
  labels: Record<string, string>;
  created_at: Date;
  build_name: string;
  team_name: string;
  pipeline_name: string | null;
  job_name: string | null;
}

export interface BuildContainerRow extends BuildOwnedRow {
  runtime: string;
  plan_id: string | null;
}

export interface BuildVolumeRow extends BuildOwnedRow {
  driver: string;
  state: VolumeState;
  container_handle: string | null;
  parent_handle: string | null;
}

const BUILD_JOIN = `
  JOIN builds b ON b.id = x.build_id
  JOIN teams t ON t.id = b.team_id
  LEFT JOIN pipelines p ON p.id = b.pipeline_id
  LEFT JOIN jobs j ON j.id = b.job_id`;

const BUILD_WHERE = `
  ($1::text IS NULL OR t.name = $1) AND ($2::text IS NULL OR p.name = $2)
  AND ($3::text IS NULL OR j.name = $3) AND ($4::text IS NULL OR b.name = $4)
  AND ($5::bigint IS NULL OR b.id = $5)`;

const BUILD_NAMES = 'b.name AS build_name, t.name AS team_name, p.name AS pipeline_name, j.name AS job_name';

function values(filter: BuildRowsFilter): unknown[] {
  return [
    filter.team ?? null,
    filter.pipeline ?? null,
    filter.job ?? null,
    filter.build ?? null,
    filter.buildId ?? null,
  ];
}

export async function listBuildContainers(
  db: Queryable,
  filter: BuildRowsFilter,
): Promise<BuildContainerRow[]> {
  const { rows } = await db.query<BuildContainerRow>({
    name: 'conveyor_api_build_containers',
    text: `
      SELECT x.handle, x.runtime, x.worker, x.state, x.build_id, x.plan_id, x.labels, x.created_at,
        ${BUILD_NAMES}
      FROM containers x ${BUILD_JOIN}
      WHERE ${BUILD_WHERE}
      ORDER BY x.id`,
    values: values(filter),
  });
  return rows;
}

export async function listBuildVolumes(db: Queryable, filter: BuildRowsFilter): Promise<BuildVolumeRow[]> {
  const { rows } = await db.query<BuildVolumeRow>({
    name: 'conveyor_api_build_volumes',
    text: `
      SELECT x.handle, x.driver, x.worker, x.state, x.build_id, x.container_handle, x.parent_handle,
        x.labels, x.created_at, ${BUILD_NAMES}
      FROM volumes x ${BUILD_JOIN}
      WHERE ${BUILD_WHERE}
      ORDER BY x.id`,
    values: values(filter),
  });
  return rows;
}
