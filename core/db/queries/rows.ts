import type { BuildStatus } from '../../events/build-event.generated.js';

/**
 * Row types of the pipeline state tables. They keep the column names, so a query's SELECT list
 * and its row type read alike; timestamps come back as Dates, jsonb as parsed JSON.
 */

export type { BuildStatus };

/** A resource version: a flat map of strings, as Concourse has it. */
export type Version = Record<string, string>;

/** Name/value pairs a resource reports about a version. */
export type VersionMetadata = Array<{ name: string; value: string }>;

/** The statuses of a build that has ended. */
export type FinishedBuildStatus = Exclude<BuildStatus, 'pending' | 'started'>;

export const FINISHED_STATUSES: readonly FinishedBuildStatus[] = [
  'succeeded',
  'failed',
  'errored',
  'aborted',
];

export function isFinishedStatus(status: string): status is FinishedBuildStatus {
  return (FINISHED_STATUSES as readonly string[]).includes(status);
}

export interface PipelineRow {
  id: number;
  team_id: number;
  team_name: string;
  name: string;
  /** The validated pipeline model as stored by set-pipeline. */
  config: unknown;
  config_version: number;
  paused: boolean;
  paused_by: string | null;
  paused_at: Date | null;
  archived: boolean;
  ordering: number;
  created_at: Date;
  updated_at: Date;
}

/** A build as lists show it: enough to draw a status badge and link to it. */
export interface BuildSummary {
  id: number;
  name: string;
  status: BuildStatus;
  created_at: Date;
  start_time: Date | null;
  end_time: Date | null;
}

export interface JobRow {
  id: number;
  pipeline_id: number;
  name: string;
  /** The job's model (JobModel) as set-pipeline stored it. */
  config: unknown;
  active: boolean;
  paused: boolean;
  paused_by: string | null;
  paused_at: Date | null;
  build_number: number;
  max_in_flight: number | null;
  serial_groups: string[];
  /** Why the last scheduling pass could not resolve the inputs; null when it could. */
  schedule_failure: string | null;
  schedule_requested_at: Date;
  last_scheduled_at: Date;
  created_at: Date;
  updated_at: Date;
}

/** A job with its latest finished build and the next build to run (the oldest unfinished one). */
export interface JobSummaryRow extends JobRow {
  finished_build: BuildSummary | null;
  next_build: BuildSummary | null;
}

export interface ResourceRow {
  id: number;
  pipeline_id: number;
  name: string;
  type: string;
  source: Record<string, unknown>;
  /** The resource's model (ResourceModel) as set-pipeline stored it. */
  config: Record<string, unknown>;
  active: boolean;
  /** Milliseconds between checks; null for `check_every: never`. */
  check_every_ms: number | null;
  next_check_at: Date;
  last_checked_at: Date | null;
  last_check_error: string | null;
  check_requested_at: Date | null;
  version_scope: number;
  /** The version pinned through the API, if any. */
  pinned_version_id: number | null;
  pinned_version: Version | null;
  pin_comment: string | null;
  /** The version pinned by `version:` in the configuration, if any (it wins over the API pin). */
  config_pinned_version: Version | null;
  created_at: Date;
  updated_at: Date;
}

export interface ResourceVersionRow {
  id: number;
  resource_id: number;
  version: Version;
  metadata: VersionMetadata;
  check_order: number;
  enabled: boolean;
  created_at: Date;
}

export interface BuildRow {
  id: number;
  team_id: number;
  team_name: string;
  pipeline_id: number | null;
  pipeline_name: string | null;
  job_id: number | null;
  job_name: string | null;
  name: string;
  status: BuildStatus;
  plan: unknown;
  manually_triggered: boolean;
  /** Who made the build by hand (trigger, rerun, one-off); null for builds the scheduler made. */
  created_by: string | null;
  rerun_of: number | null;
  rerun_of_name: string | null;
  created_at: Date;
  start_time: Date | null;
  end_time: Date | null;
  lease_owner: string | null;
  lease_expires_at: Date | null;
  abort_requested: boolean;
}

/** A version a build consumed (`get`) or produced (`put`), with its resource. */
export interface BuildVersionRow {
  build_id: number;
  name: string;
  resource_id: number;
  resource_name: string;
  resource_version_id: number;
  version: Version;
  metadata: VersionMetadata;
  /** Inputs only: no earlier build of the job had this version as this input. */
  first_occurrence: boolean | null;
}

export type ContainerState = 'creating' | 'created' | 'destroying';

export interface ContainerRow {
  id: number;
  handle: string;
  runtime: string;
  worker: string;
  state: ContainerState;
  build_id: number | null;
  plan_id: string | null;
  labels: Record<string, string>;
  created_at: Date;
  updated_at: Date;
}

export type VolumeState = ContainerState;

export interface VolumeRow {
  id: number;
  handle: string;
  driver: string;
  worker: string;
  state: VolumeState;
  build_id: number | null;
  container_handle: string | null;
  parent_handle: string | null;
  labels: Record<string, string>;
  created_at: Date;
  updated_at: Date;
}

/**
 * One page of a list, newest first, and whether there is more on either side of it.
 */
export interface Page<T> {
  items: T[];
  /** There are items older than the last one of `items`. */
  hasOlder: boolean;
  /** There are items newer than the first one of `items`. */
  hasNewer: boolean;
}

/**
 * Which page: at most one of `before` and `since`. `before` asks for the `limit` items just older
 * than that cursor, `since` for the `limit` items just newer than it (still newest first), neither
 * for the newest. Cursors are ids (of builds, of versions).
 */
export interface PageOptions {
  /** Most items on the page: 1..1000, default 50. */
  limit?: number | undefined;
  before?: number | undefined;
  since?: number | undefined;
}
