import type { Queryable } from '../pool.js';

/**
 * The lease owners of started builds, for a starting server to tell which of them are processes
 * of its own host that no longer run.
 */
export async function listBuildLeaseOwners(db: Queryable): Promise<string[]> {
  const { rows } = await db.query<{ lease_owner: string }>({
    name: 'conveyor_build_lease_owners',
    text: `SELECT DISTINCT lease_owner FROM builds WHERE status = 'started' AND lease_owner IS NOT NULL`,
  });
  return rows.map((row) => row.lease_owner);
}

/**
 * Ends the leases of `owners` now, so recoverInterruptedBuilds takes their builds at once instead
 * of after the lease would have run out: the caller knows these owners are gone.
 */
export async function expireBuildLeases(db: Queryable, owners: readonly string[]): Promise<number> {
  if (owners.length === 0) return 0;
  const { rowCount } = await db.query({
    name: 'conveyor_expire_build_leases',
    text: `
      UPDATE builds SET lease_expires_at = now() - interval '1 millisecond'
      WHERE status = 'started' AND lease_owner = ANY($1::text[])`,
    values: [owners],
  });
  return rowCount ?? 0;
}
