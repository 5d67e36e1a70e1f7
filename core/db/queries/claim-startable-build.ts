import type { Pool, PoolClient } from '../pool.js';
import { insertBuildEventBatches, statusEvent } from './build-events.js';
import { checkLease, getBuilds } from './builds.js';
import type { BuildRow } from './rows.js';
import { withTransaction } from './transaction.js';

/**
 * Pending builds that could start, oldest first from a queue position on, locked so that no other
 * claimer looks at them. A rerun queues where its original stood. Builds of paused or archived
 * pipelines, and of paused or removed jobs, wait; so does every build of a job with limits
 * (max_in_flight, serial groups) but its oldest pending one, which must go first.
 */
const CANDIDATES = `
  SELECT b.id, b.job_id, b.pipeline_id, j.max_in_flight,
    ARRAY(SELECT g.serial_group FROM job_serial_groups g WHERE g.job_id = b.job_id ORDER BY g.serial_group)
      AS serial_groups,
    coalesce(b.rerun_of, b.id) AS queue_position
  FROM builds b
  LEFT JOIN jobs j ON j.id = b.job_id
  LEFT JOIN pipelines p ON p.id = b.pipeline_id
  WHERE b.status = 'pending' AND NOT b.abort_requested
    AND (coalesce(b.rerun_of, b.id), b.id) > ($2::bigint, $3::bigint)
    AND (b.job_id IS NULL OR (j.active AND NOT j.paused AND NOT p.paused AND NOT p.archived))
    AND (
      b.job_id IS NULL
      OR (j.max_in_flight IS NULL AND NOT EXISTS (SELECT 1 FROM job_serial_groups g WHERE g.job_id = b.job_id))
      OR NOT EXISTS (
        SELECT 1 FROM builds older
        WHERE older.job_id = b.job_id AND older.status = 'pending' AND NOT older.abort_requested
          AND (coalesce(older.rerun_of, older.id), older.id) < (coalesce(b.rerun_of, b.id), b.id)
      )
    )
  ORDER BY coalesce(b.rerun_of, b.id), b.id
  LIMIT $1
  FOR NO KEY UPDATE OF b SKIP LOCKED`;

interface Candidate {
  id: number;
  queue_position: number;
  job_id: number | null;
  pipeline_id: number | null;
  max_in_flight: number | null;
  serial_groups: string[];
}

/** Advisory lock namespaces (the first key of pg_try_advisory_xact_lock(int, int)). */
const JOB_LOCK = 0x43430001;
const SERIAL_GROUP_LOCK = 0x43430002;

/**
 * Takes the locks that make the limit check below safe: one per serial group, or the job's own
 * when it has none. Never waits: a claimer that loses the race moves on to another build.
 */
const TRY_LOCK = `
  SELECT bool_and(locked) AS locked FROM (
    SELECT pg_try_advisory_xact_lock(${JOB_LOCK}, $1) AS locked WHERE cardinality($3::text[]) = 0
    UNION ALL
    SELECT pg_try_advisory_xact_lock(${SERIAL_GROUP_LOCK}, hashtext($2::text || '/' || g))
    FROM unnest($3::text[]) AS g
  ) AS attempts`;

/**
 * Whether the candidate may start now, read after the locks are held (so builds another claimer
 * started are visible): it must be the next pending build of its job, or of its serial groups
 * across their jobs (a paused job's builds wait without holding up the others), and fewer than
 * the limit may be running there. With serial groups the limit
 * is max_in_flight (1 unless set) over the groups' jobs, as Concourse counts it.
 */
const MAY_START = `
  WITH scope AS (
    SELECT sj.id AS job_id, sj.active AND NOT sj.paused AS runnable
    FROM jobs sj
    WHERE (cardinality($3::text[]) = 0 AND sj.id = $1)
       OR (sj.pipeline_id = $2
           AND sj.id IN (SELECT g.job_id FROM job_serial_groups g WHERE g.serial_group = ANY($3::text[])))
  )
  SELECT
    (SELECT b.id FROM builds b
     WHERE b.job_id IN (SELECT job_id FROM scope WHERE runnable)
       AND b.status = 'pending' AND NOT b.abort_requested
     ORDER BY coalesce(b.rerun_of, b.id), b.id LIMIT 1) = $4 AS is_next,
    (SELECT count(*) FROM builds b
     WHERE b.job_id IN (SELECT job_id FROM scope) AND b.status = 'started')::integer AS running`;

const START_MANY = `
  UPDATE builds
  SET status = 'started', start_time = now(), lease_owner = $2,
      lease_expires_at = now() + $3 * interval '1 millisecond'
  WHERE id = ANY($1::bigint[])`;

const CANDIDATES_PER_CLAIM = 20;

/**
 * Claims one pending build that may start now, as claimStartableBuilds does. Resolves null when
 * no build can start.
 */
export async function claimStartableBuild(
  pool: Pool,
  owner: string,
  leaseMs: number,
): Promise<BuildRow | null> {
  const [build] = await claimStartableBuilds(pool, owner, leaseMs, 1);
  return build ?? null;
}

/**
 * Claims up to `limit` pending builds that may start now, in queue order, in one transaction:
 * marks them started with a lease for `owner` (kept alive with heartbeatBuild) and appends their
 * `started` status events. Honours each job's max_in_flight and serial groups, also across several
 * processes sharing the database. Resolves no builds when none can start.
 */
export async function claimStartableBuilds(
  pool: Pool,
  owner: string,
  leaseMs: number,
  limit: number,
): Promise<BuildRow[]> {
  if (typeof owner !== 'string' || owner === '') throw new TypeError('owner must be a non-empty string');
  if (!Number.isInteger(limit) || limit < 1) throw new TypeError('limit must be a positive integer');
  checkLease(leaseMs);
  return withTransaction(pool, async (client) => {
    const claimed: number[] = [];
    // Unlimited builds start together at the end; a build with limits starts at once, so the
    // limit checks of the builds after it see it running.
    const unlimited: number[] = [];
    // Page through the queue until enough builds start: blocked builds never hide startable ones.
    let after: [number, number] = [0, 0];
    while (claimed.length < limit) {
      const { rows: candidates } = await client.query<Candidate>({
        name: 'conveyor_claim_build_candidates',
        text: CANDIDATES,
        values: [Math.max(CANDIDATES_PER_CLAIM, limit), ...after],
      });
      for (const candidate of candidates) {
        if (claimed.length === limit) break;
        if (isUnlimited(candidate)) {
          unlimited.push(candidate.id);
        } else {
          if (!(await mayStart(client, candidate))) continue;
          await client.query({
            name: 'conveyor_start_builds',
            text: START_MANY,
            values: [[candidate.id], owner, leaseMs],
          });
        }
        claimed.push(candidate.id);
      }
      const last = candidates.at(-1);
      if (last === undefined || candidates.length < Math.max(CANDIDATES_PER_CLAIM, limit)) break;
      after = [last.queue_position, last.id];
    }
    if (claimed.length === 0) return [];
    if (unlimited.length > 0) {
      await client.query({
        name: 'conveyor_start_builds',
        text: START_MANY,
        values: [unlimited, owner, leaseMs],
      });
    }
    await insertBuildEventBatches(
      client,
      claimed.map((buildId) => ({ buildId, events: [statusEvent('started')] })),
    );
    return getBuilds(client, claimed);
  });
}

function isUnlimited(candidate: Candidate): boolean {
  return (
    candidate.job_id === null || (candidate.serial_groups.length === 0 && candidate.max_in_flight === null)
  );
}

async function mayStart(client: PoolClient, candidate: Candidate): Promise<boolean> {
  const { rows: locks } = await client.query<{ locked: boolean }>({
    name: 'conveyor_claim_build_lock',
    text: TRY_LOCK,
    values: [candidate.job_id, String(candidate.pipeline_id), candidate.serial_groups],
  });
  if (locks[0]?.locked !== true) return false;

  const { rows } = await client.query<{ is_next: boolean | null; running: number }>({
    name: 'conveyor_claim_build_may_start',
    text: MAY_START,
    values: [candidate.job_id, candidate.pipeline_id, candidate.serial_groups, candidate.id],
  });
  const state = rows[0];
  if (state === undefined || state.is_next !== true) return false;
  const limit = candidate.max_in_flight ?? 1;
  return state.running < limit;
}
