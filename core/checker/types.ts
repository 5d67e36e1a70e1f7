import type { ResourceVersionRow, Version } from '../db/index.js';

/** The resource a check is for, as the checkResource callback gets it. */
export interface ResourceToCheck {
  id: number;
  name: string;
  /** Plugin reference (`git`, `git@^2`) or one of the pipeline's resource_types. */
  type: string;
  source: Record<string, unknown>;
  /** The resource's model as set-pipeline stored it (tags, check timeout, ...). */
  config: Record<string, unknown>;
  pipelineId: number;
  pipelineName: string;
  teamName: string;
}

export interface CheckContext {
  /** Aborted when the check times out (the resource's check_timeout) or the checker stops. */
  signal: AbortSignal;
}

/**
 * Runs one check: calls the resource type (resolving credentials, custom types and so on is the
 * caller's business) and resolves the versions it reported, oldest first, starting with
 * `lastVersion` if it still exists.
 */
export type CheckResourceFn = (
  resource: ResourceToCheck,
  lastVersion: Version | undefined,
  context: CheckContext,
) => Promise<Version[]>;

export type CheckResult =
  /** The versions the check reported, as stored (oldest first, with their ids). */
  | { status: 'succeeded'; versions: ResourceVersionRow[]; checkedAt: Date }
  /** What went wrong, as kept in the resource's last_check_error. */
  | { status: 'errored'; error: string; checkedAt: Date };
