import { readdir, readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { isErrno } from './errno.js';

/** How long destroy waits for SIGKILLed process groups to go. */
const EXIT_WAIT_MS = 10_000;
const POLL_MS = 25;

/**
 * Send a signal to a whole process group: the step's process and everything it started, so a
 * timeout or an abort leaves no grandchild behind. False when the group is gone.
 */
export function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (error) {
    if (isErrno(error, 'ESRCH')) return false;
    throw error;
  }
}

/**
 * The process groups that still have a live member. A zombie does not count: once killed, an
 * orphan is reaped by init, and where init does not reap (some container init processes) it stays
 * a zombie forever while doing nothing.
 */
export async function liveGroups(): Promise<Set<number>> {
  const live = new Set<number>();
  let names: string[];
  try {
    names = await readdir('/proc');
  } catch {
    return live;
  }
  await Promise.all(
    names
      .filter((name) => /^\d+$/.test(name))
      .map(async (name) => {
        const stat = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => undefined);
        // `pid (comm) state ppid pgrp …`; comm may hold spaces and parentheses, so parse from the last `)`.
        const fields = stat?.slice(stat.lastIndexOf(')') + 2).split(' ');
        if (!fields || fields[0] === 'Z' || fields[0] === 'X') return;
        live.add(Number(fields[2]));
      }),
  );
  return live;
}

/** True when `/proc` can tell which groups are alive (Linux); elsewhere we can only ask kill(0). */
const hasProc = async () =>
  readdir('/proc/self').then(
    () => true,
    () => false,
  );

async function isGroupAlive(pgid: number, live: Set<number> | undefined): Promise<boolean> {
  if (live) return live.has(pgid);
  return signalGroup(pgid, 0);
}

/** The subset of `pgids` that has a live member. */
export async function aliveAmong(pgids: readonly number[]): Promise<number[]> {
  // kill(0) answers at once for groups that are gone, the usual case once a step's process has
  // exited; only groups that still exist need the /proc scan that tells zombies from the living.
  const existing = pgids.filter((pgid) => signalGroup(pgid, 0));
  if (existing.length === 0) return [];
  const live = (await hasProc()) ? await liveGroups() : undefined;
  const alive: number[] = [];
  for (const pgid of existing) if (await isGroupAlive(pgid, live)) alive.push(pgid);
  return alive;
}

/**
 * SIGKILL every group and wait until none has a live member. Returns the groups still alive at the
 * deadline (a process stuck in uninterruptible I/O dies only when the I/O ends).
 */
export async function killGroups(pgids: readonly number[]): Promise<number[]> {
  for (const pgid of pgids) signalGroup(pgid, 'SIGKILL');
  const deadline = Date.now() + EXIT_WAIT_MS;
  let alive = await aliveAmong(pgids);
  while (alive.length && Date.now() < deadline) {
    await sleep(POLL_MS);
    alive = await aliveAmong(alive);
  }
  return alive;
}
