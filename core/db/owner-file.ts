import { readFile, rm, writeFile } from 'node:fs/promises';
import { isErrno } from './errno.js';
import { processStartTime, processState } from './postmaster.js';

/**
 * The Conveyor process that runs a data directory's Postgres server. A pid alone would be reused
 * after a reboot or a long uptime, so the process's start time is kept with it.
 */
export interface Owner {
  readonly pid: number;
  readonly startTime: string | null;
}

export async function readOwner(file: string): Promise<Owner | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error: unknown) {
    if (isErrno(error, 'ENOENT')) return null;
    throw error;
  }
  const [pid, startTime] = text.trim().split(/\s+/);
  const parsed = Number.parseInt(pid ?? '', 10);
  if (!Number.isSafeInteger(parsed) || parsed <= 0) return null;
  return { pid: parsed, startTime: startTime === undefined || startTime === '-' ? null : startTime };
}

/** Whether the owner is still the very process that wrote the file. */
export async function ownerIsRunning(owner: Owner): Promise<boolean> {
  if ((await processState(owner.pid)) === 'exited') return false;
  if (owner.startTime === null) return true;
  return (await processStartTime(owner.pid)) === owner.startTime;
}

export async function writeOwner(file: string): Promise<Owner> {
  const owner: Owner = { pid: process.pid, startTime: await processStartTime(process.pid) };
  await writeFile(file, `${owner.pid} ${owner.startTime ?? '-'}\n`, { mode: 0o644 });
  return owner;
}

/** Removes the file if it still names `owner`: a later owner's claim is not ours to drop. */
export async function removeOwner(file: string, owner: Owner): Promise<void> {
  const current = await readOwner(file);
  if (current !== null && current.pid === owner.pid && current.startTime === owner.startTime) {
    await rm(file, { force: true });
  }
}
