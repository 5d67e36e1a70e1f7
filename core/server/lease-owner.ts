import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { expireBuildLeases, listBuildLeaseOwners, type Pool, recoverInterruptedBuilds } from '../db/index.js';

/**
 * How this process names itself on the leases it takes: `<host>/<pid>/<random>`. Several
 * processes may share one database; the host and pid let a restarted server on the same host
 * tell that a previous owner is gone.
 */
export function leaseOwnerName(): string {
  return `${hostname()}/${process.pid}/${randomBytes(3).toString('hex')}`;
}

/**
 * At start: builds that a process of this host held when it died (kill -9, a crash) are marked
 * errored now, not when their leases would have expired, so nothing stays `started` and gc can
 * reap their containers and volumes on its first pass. Owners on other hosts are left to expire.
 */
export async function recoverBuildsOfDeadLocalOwners(pool: Pool): Promise<number> {
  const host = hostname();
  const dead = (await listBuildLeaseOwners(pool)).filter((owner) => {
    const [ownerHost, pid] = owner.split('/');
    return ownerHost === host && pid !== undefined && !processAlive(Number(pid));
  });
  if ((await expireBuildLeases(pool, dead)) === 0) return 0;
  return (await recoverInterruptedBuilds(pool)).length;
}

function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, as another user's process.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
