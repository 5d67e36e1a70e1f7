import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { threadId } from 'node:worker_threads';
import { PluginError } from '@conveyor/plugin-api';

/** Calls of this thread waiting for a lock, chained per path: the file lock need not spin for them. */
const queues = new Map<string, Promise<unknown>>();

/** A lock nobody released for this long was left by a killed call (no git command runs that long). */
const STALE_MS = 15 * 60_000;
const WAIT_MS = 15 * 60_000;

/**
 * Run `fn` holding an exclusive lock on `path`, across calls of this thread, other worker
 * threads and other Conveyor processes on the host that share the cache directory. The lock is a
 * directory (mkdir is atomic); a holder that died is detected by its pid or by age.
 */
export async function withLock<T>(path: string, fn: () => Promise<T>): Promise<T> {
  const previous = queues.get(path) ?? Promise.resolve();
  const run = previous.catch(() => {}).then(() => withFileLock(path, fn));
  const tail = run.catch(() => {});
  queues.set(path, tail);
  try {
    return await run;
  } finally {
    if (queues.get(path) === tail) queues.delete(path);
  }
}

async function withFileLock<T>(path: string, fn: () => Promise<T>): Promise<T> {
  const lockDir = `${path}.lock`;
  const started = Date.now();
  for (let delay = 20; ; delay = Math.min(delay * 2, 500)) {
    try {
      await mkdir(lockDir);
      await writeFile(join(lockDir, 'owner'), `${process.pid} ${threadId}\n`);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    if (await isStale(lockDir)) {
      await rm(lockDir, { recursive: true, force: true });
      continue;
    }
    if (Date.now() - started > WAIT_MS) {
      throw new PluginError(
        'GIT_CACHE_BUSY',
        `the git cache ${path} has been locked by another call for over ${WAIT_MS / 60_000} minutes; if no call is running, remove ${lockDir}`,
      );
    }
    await sleep(delay);
  }
  try {
    return await fn();
  } finally {
    await rm(lockDir, { recursive: true, force: true });
  }
}

async function isStale(lockDir: string): Promise<boolean> {
  let owner: string;
  try {
    const info = await stat(lockDir);
    if (Date.now() - info.mtimeMs > STALE_MS) return true;
    owner = await readFile(join(lockDir, 'owner'), 'utf8');
  } catch {
    // Just released, or the holder is between mkdir and writing its name.
    return false;
  }
  const pid = Number(owner.split(' ')[0]);
  if (pid === process.pid || !Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    // EPERM: the process exists but is another user's.
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
