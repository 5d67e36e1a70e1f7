import type { Stats } from 'node:fs';
import { chmod, mkdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { ConveyorError } from '../errors/index.js';
import { isErrno } from './errno.js';
import type { SystemUser } from './system-user.js';

/** Mode of the directories Conveyor creates on the way to its data directory (umask notwithstanding). */
const CREATED_DIR_MODE = 0o755;

/**
 * Makes sure `dataDir` exists and that `runAs` (the account Postgres will run as, or null when
 * Postgres runs as ourselves) can reach it.
 *
 * Directories that already exist are checked, never changed: whether /root may be traversed is the
 * administrator's decision. Directories we create ourselves get mode 0755, because a umask of 077
 * would otherwise lock the Postgres user out of a directory that Conveyor made for it.
 */
export async function prepareDataDir(dataDir: string, runAs: SystemUser | null): Promise<void> {
  const absolute = path.resolve(dataDir);
  const { existing, missing } = await splitExisting(absolute);

  if (runAs !== null) {
    // Check the real path: a symlinked ancestor is traversed through its target's directories.
    const real = await realpath(existing);
    for (const dir of ancestorsOf(real)) {
      const info = await stat(dir);
      if (!canTraverse(info, runAs)) throw unreachable(absolute, dir, info, runAs);
    }
  }

  let current = existing;
  for (const name of missing) {
    current = path.join(current, name);
    try {
      await mkdir(current, { mode: CREATED_DIR_MODE });
    } catch (error: unknown) {
      // Another process may be creating the same directory right now; that is fine.
      if (!isErrno(error, 'EEXIST')) throw error;
      continue;
    }
    await chmod(current, CREATED_DIR_MODE);
  }
}

/** Splits `/a/b/c/d` into its deepest existing ancestor (`/a/b`) and the names still to create. */
async function splitExisting(absolute: string): Promise<{ existing: string; missing: string[] }> {
  const missing: string[] = [];
  let current = absolute;
  for (;;) {
    try {
      const info = await stat(current);
      if (!info.isDirectory()) {
        throw new ConveyorError(
          'CC_E_DB_DATA_DIR_UNREACHABLE',
          `The data directory ${absolute} cannot be created: ${current} exists and is not a directory. Choose another data directory or move that file away.`,
          { details: { dataDir: absolute, blocker: current } },
        );
      }
      return { existing: current, missing: missing.reverse() };
    } catch (error: unknown) {
      if (!isErrno(error, 'ENOENT')) throw error;
    }
    const parent = path.dirname(current);
    // path.dirname('/') is '/': the root always exists, so this only guards against a bad path.
    if (parent === current) return { existing: current, missing: missing.reverse() };
    missing.push(path.basename(current));
    current = parent;
  }
}

/** `/a/b/c` → `/`, `/a`, `/a/b`, `/a/b/c`. */
function ancestorsOf(absolute: string): string[] {
  const chain: string[] = [];
  let current = absolute;
  for (;;) {
    chain.push(current);
    const parent = path.dirname(current);
    if (parent === current) return chain.reverse();
    current = parent;
  }
}

/** The classic owner/group/other check on the execute bit; POSIX ACLs are not consulted. */
function canTraverse(info: Stats, user: SystemUser): boolean {
  if (info.uid === user.uid) return (info.mode & 0o100) !== 0;
  if (user.groups.includes(info.gid)) return (info.mode & 0o010) !== 0;
  return (info.mode & 0o001) !== 0;
}

function unreachable(dataDir: string, blocker: string, info: Stats, user: SystemUser): ConveyorError {
  const mode = (info.mode & 0o7777).toString(8).padStart(4, '0');
  return new ConveyorError(
    'CC_E_DB_DATA_DIR_UNREACHABLE',
    `Embedded Postgres runs as the system user "${user.name}", which cannot traverse ${blocker} ` +
      `(mode ${mode}, owner uid ${info.uid}) on the way to the data directory ${dataDir}. ` +
      `Choose a data directory under /var/lib (e.g. /var/lib/conveyor), or allow traversal with \`chmod o+x ${blocker}\`.`,
    { details: { dataDir, blocker, mode, ownerUid: info.uid, user: user.name } },
  );
}
