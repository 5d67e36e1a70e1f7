import type { Pool } from '../pool.js';
import { insertBuildEvents, statusEvent } from './build-events.js';
import { requestSchedulingAfterBuild } from './schedule-requests.js';
import { withTransaction } from './transaction.js';

/**
 * Started builds whose lease ran out: the process running them stopped (or lost the database
 * for longer than its lease). Locked without waiting, so two recovering processes split the work.
 */
const EXPIRED = `
  SELECT id, job_id, lease_owner, lease_expires_at FROM builds
  WHERE status = 'started' AND lease_expires_at < $1
  ORDER BY id
  LIMIT $2
  FOR NO KEY UPDATE SKIP LOCKED`;

const MARK_ERRORED = `
  UPDATE builds SET status = 'errored', end_time = now(), lease_owner = NULL, lease_expires_at = NULL
  WHERE id = ANY($1::bigint[])`;

/** Their containers and volumes are no longer used by anyone: gc destroys them. */
const RELEASE_CONTAINERS = `
  UPDATE containers SET state = 'destroying', updated_at = now()
  WHERE build_id = ANY($1::bigint[]) AND state <> 'destroying'`;
const RELEASE_VOLUMES = `
  UPDATE volumes SET state = 'destroying', updated_at = now()
  WHERE build_id = ANY($1::bigint[]) AND state <> 'destroying'`;

const BATCH = 100;

export interface RecoveredBuild {
  id: number;
  /** The process that held the lease. */
  owner: string;
  leaseExpiredAt: Date;
}

/**
 * Marks errored every started build whose lease expired before `now` (default: the current time),
 * with an `error` event that says so and the final `status` event; moves its containers and
 * volumes to 'destroying' for gc. Safe to run from several processes at once. Resolves the builds
 * it recovered.
 */
export async function recoverInterruptedBuilds(
  pool: Pool,
  now: Date = new Date(),
): Promise<RecoveredBuild[]> {
  const recovered: RecoveredBuild[] = [];
  for (;;) {
    const batch = await withTransaction(pool, async (client) => {
      const { rows } = await client.query<{
        id: number;
        job_id: number | null;
        lease_owner: string;
        lease_expires_at: Date;
      }>({ name: 'conveyor_recover_expired_builds', text: EXPIRED, values: [now, BATCH] });
      if (rows.length === 0) return [];
      const ids = rows.map((row) => row.id);
      await client.query({ name: 'conveyor_recover_mark_errored', text: MARK_ERRORED, values: [ids] });
      await client.query({ name: 'conveyor_recover_containers', text: RELEASE_CONTAINERS, values: [ids] });
      await client.query({ name: 'conveyor_recover_volumes', text: RELEASE_VOLUMES, values: [ids] });
      const time = Math.floor(Date.now() / 1000);
      for (const row of rows) {
        await insertBuildEvents(client, row.id, [
          {
            event: 'error',
            data: {
              message:
                `the server running this build stopped: ${row.lease_owner} last renewed its lease, ` +
                `which expired at ${row.lease_expires_at.toISOString()}`,
              time,
            },
          },
          statusEvent('errored'),
        ]);
        if (row.job_id !== null) await requestSchedulingAfterBuild(client, row.job_id, false);
      }
      return rows.map((row) => ({
        id: row.id,
        owner: row.lease_owner,
        leaseExpiredAt: row.lease_expires_at,
      }));
    });
    recovered.push(...batch);
    if (batch.length < BATCH) return recovered;
  }
}
