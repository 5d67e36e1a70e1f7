import type { Pool, PoolClient, Queryable } from '../pool.js';
import type { Version } from './rows.js';

/** A resource claimed for a check, with what the check needs to run. */
export interface ClaimedCheckRow {
  id: number;
  pipeline_id: number;
  pipeline_name: string;
  team_name: string;
  name: string;
  type: string;
  source: Record<string, unknown>;
  /** The resource's model as set-pipeline stored it. */
  config: Record<string, unknown>;
  /** The version scope the check belongs to; results for an older scope are dropped. */
  version_scope: number;
  check_timeout_ms: number;
  /** The newest known version (the check starts from it), or null. */
  last_version: Version | null;
  /**
   * When the claim was made, as Postgres prints it (a JS Date would drop the microseconds): check
   * requests made before it are answered by this check.
   */
  claimed_at: string;
}

/** A check runs no longer than Concourse's default check_timeout unless the resource says so. */
const DEFAULT_CHECK_TIMEOUT_MS = 3_600_000;

const CLAIMED = `
  r.id, r.pipeline_id, p.name AS pipeline_name, t.name AS team_name, r.name, r.type, r.source, r.config,
  r.version_scope,
  coalesce((r.config ->> 'checkTimeoutMs')::bigint, ${DEFAULT_CHECK_TIMEOUT_MS}) AS check_timeout_ms,
  (SELECT v.version FROM resource_versions v
   WHERE v.resource_id = r.id AND v.scope = r.version_scope
   ORDER BY v.check_order DESC LIMIT 1) AS last_version,
  now()::text AS claimed_at`;

/** The lease outlives the check's own timeout by a margin, so a check that times out still owns it. */
const LEASE = `now() + (coalesce((r.config ->> 'checkTimeoutMs')::bigint, ${DEFAULT_CHECK_TIMEOUT_MS}) + $2)
  * interval '1 millisecond'`;

/**
 * Due resources: periodic checks whose time has come (not in paused pipelines) and checks asked
 * for through the API, whose lease is free. Locked without waiting, so concurrent checkers split
 * the work and never check one resource twice at once.
 */
const CLAIM_DUE = `
  WITH due AS (
    SELECT r.id FROM resources r JOIN pipelines p ON p.id = r.pipeline_id
    WHERE r.active AND NOT p.archived
      AND ((r.check_every IS NOT NULL AND r.next_check_at <= now() AND NOT p.paused)
           OR r.check_requested_at IS NOT NULL)
      AND (r.check_lease_expires_at IS NULL OR r.check_lease_expires_at < now())
    ORDER BY least(r.next_check_at, r.check_requested_at)
    LIMIT $3
    FOR NO KEY UPDATE OF r SKIP LOCKED
  )
  UPDATE resources r SET check_lease_owner = $1, check_lease_expires_at = ${LEASE}
  FROM due, pipelines p, teams t
  WHERE r.id = due.id AND p.id = r.pipeline_id AND t.id = p.team_id
  RETURNING ${CLAIMED}`;

export async function claimDueChecks(
  pool: Pool,
  owner: string,
  options: { limit: number; leaseMarginMs: number },
): Promise<ClaimedCheckRow[]> {
  const { rows } = await pool.query<ClaimedCheckRow>({
    name: 'conveyor_claim_due_checks',
    text: CLAIM_DUE,
    values: [owner, options.leaseMarginMs, options.limit],
  });
  return rows;
}

const CLAIM_ONE = `
  WITH one AS (
    SELECT r.id FROM resources r
    WHERE r.id = $3 AND r.active
      AND (r.check_lease_expires_at IS NULL OR r.check_lease_expires_at < now())
    FOR NO KEY UPDATE OF r SKIP LOCKED
  )
  UPDATE resources r SET check_lease_owner = $1, check_lease_expires_at = ${LEASE}
  FROM one, pipelines p, teams t
  WHERE r.id = one.id AND p.id = r.pipeline_id AND t.id = p.team_id
  RETURNING ${CLAIMED}`;

/**
 * Claims one resource for a check now, whether or not it is due. Resolves null while another
 * checker holds it; `exists` tells that apart from a resource that is not there (or inactive).
 */
export async function claimResourceCheck(
  pool: Pool,
  resourceId: number,
  owner: string,
  leaseMarginMs: number,
): Promise<{ claimed: ClaimedCheckRow | null; exists: boolean }> {
  const { rows } = await pool.query<ClaimedCheckRow>({
    name: 'conveyor_claim_resource_check',
    text: CLAIM_ONE,
    values: [owner, leaseMarginMs, resourceId],
  });
  const claimed = rows[0] ?? null;
  if (claimed !== null) return { claimed, exists: true };
  const { rows: found } = await pool.query('SELECT 1 FROM resources WHERE id = $1 AND active', [resourceId]);
  return { claimed: null, exists: found.length > 0 };
}

const FINISH = `
  UPDATE resources SET
    last_checked_at = now(),
    last_check_error = $4,
    next_check_at = CASE WHEN check_every IS NULL THEN next_check_at ELSE now() + check_every END,
    check_requested_at = CASE WHEN check_requested_at <= $3::timestamptz THEN NULL ELSE check_requested_at END,
    check_lease_owner = NULL,
    check_lease_expires_at = NULL
  WHERE id = $1 AND check_lease_owner = $2`;

/**
 * Records the check's outcome (error text or null), when the next one is due, and releases the
 * lease; in the caller's transaction, with the versions it saved. Resolves false when the lease
 * was lost meanwhile (it expired and another checker took over).
 */
export async function finishCheck(
  db: PoolClient | Queryable,
  check: Pick<ClaimedCheckRow, 'id' | 'claimed_at'>,
  owner: string,
  error: string | null,
): Promise<boolean> {
  const { rowCount } = await db.query({
    name: 'conveyor_finish_check',
    text: FINISH,
    values: [check.id, owner, check.claimed_at, error],
  });
  return (rowCount ?? 0) > 0;
}

/** Lets go of a claimed check without recording an outcome (the checker is stopping): it stays due. */
export async function releaseCheck(db: Queryable, resourceId: number, owner: string): Promise<void> {
  await db.query({
    name: 'conveyor_release_check',
    text: `UPDATE resources SET check_lease_owner = NULL, check_lease_expires_at = NULL
           WHERE id = $1 AND check_lease_owner = $2`,
    values: [resourceId, owner],
  });
}
