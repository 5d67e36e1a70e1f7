import { readFile, readlink, realpath } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isErrno } from './errno.js';

/**
 * What we can learn about a process id from the kernel. `exited` covers both a pid that is gone and
 * a zombie: a postmaster orphaned by a SIGKILLed Conveyor is reparented to PID 1, which in a
 * container may never reap it, and a zombie holds no lock, socket or shared memory any more.
 */
export type ProcessState = 'running' | 'exited';

export async function processState(pid: number): Promise<ProcessState> {
  try {
    process.kill(pid, 0);
  } catch (error: unknown) {
    // EPERM: it exists but belongs to someone else, which still makes it running.
    if (isErrno(error, 'ESRCH')) return 'exited';
  }
  const stat = await readProcStat(pid);
  if (stat === null) return 'running';
  return stat.state === 'Z' || stat.state === 'X' ? 'exited' : 'running';
}

/** Start time of a process in clock ticks since boot; with the pid it names one process for good. */
export async function processStartTime(pid: number): Promise<string | null> {
  return (await readProcStat(pid))?.startTime ?? null;
}

/**
 * Whether `pid` is a postmaster serving `clusterDir`: the executable is called `postgres` and its
 * working directory is the cluster (the postmaster chdirs into its data directory first thing).
 * 'unknown' where /proc cannot tell us, e.g. on macOS or for another user's process without root.
 */
export async function isPostmasterOf(pid: number, clusterDir: string): Promise<'yes' | 'no' | 'unknown'> {
  try {
    const [exe, cwd, cluster] = await Promise.all([
      readlink(`/proc/${pid}/exe`),
      readlink(`/proc/${pid}/cwd`),
      realpath(clusterDir),
    ]);
    return path.basename(exe) === 'postgres' && cwd === cluster ? 'yes' : 'no';
  } catch (error: unknown) {
    if (isErrno(error, 'ENOENT')) return (await processState(pid)) === 'exited' ? 'no' : 'unknown';
    return 'unknown';
  }
}

/** The postmaster pid from `<clusterDir>/postmaster.pid`, or null when there is no (readable) lock file. */
export async function readPostmasterPid(clusterDir: string): Promise<number | null> {
  let text: string;
  try {
    text = await readFile(path.join(clusterDir, 'postmaster.pid'), 'utf8');
  } catch (error: unknown) {
    if (isErrno(error, 'ENOENT')) return null;
    throw error;
  }
  const pid = Number.parseInt(text.split('\n', 1)[0] ?? '', 10);
  return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
}

/**
 * Postgres's shutdown modes, gentlest first: SIGINT is a fast shutdown (disconnect clients,
 * checkpoint, exit), SIGQUIT an immediate one (exit now, recover from WAL at the next start),
 * SIGKILL the last resort. SIGTERM is deliberately absent: to Postgres it means a *smart* shutdown
 * that waits for every client to leave, which is gentler than the SIGINT already sent.
 */
const SHUTDOWN_STEPS: ReadonlyArray<{ signal: NodeJS.Signals; waitMs: number }> = [
  { signal: 'SIGINT', waitMs: 15_000 },
  { signal: 'SIGQUIT', waitMs: 5_000 },
  { signal: 'SIGKILL', waitMs: 5_000 },
];

/** Stops a postmaster and waits until it has exited. Resolves false if even SIGKILL did not get it. */
export async function stopPostmaster(pid: number): Promise<boolean> {
  for (const { signal, waitMs } of SHUTDOWN_STEPS) {
    try {
      process.kill(pid, signal);
    } catch (error: unknown) {
      if (isErrno(error, 'ESRCH')) return true;
      throw error;
    }
    if (await waitForExit(pid, waitMs)) return true;
  }
  return false;
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if ((await processState(pid)) === 'exited') return true;
    if (Date.now() >= deadline) return false;
    await sleep(25);
  }
}

interface ProcStat {
  state: string;
  startTime: string;
}

async function readProcStat(pid: number): Promise<ProcStat | null> {
  let text: string;
  try {
    text = await readFile(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name (field 2) is in parentheses and may itself hold spaces and parentheses, so
  // count fields from the last ')': field 3 (state) comes right after it, field 22 is the start time.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  const startTime = fields[19];
  if (state === undefined || startTime === undefined) return null;
  return { state, startTime };
}
