import { readFileSync } from 'node:fs';

/**
 * Whether a process runs: it exists and is not a zombie. An orphan killed in a test may never be
 * reaped where PID 1 does not reap, and stays a zombie that has in fact exited.
 */
export function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // `pid (comm) state …`; comm may hold spaces and parentheses, so read after the last `)`.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}
