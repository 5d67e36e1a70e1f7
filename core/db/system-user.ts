import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** A system account as far as file permissions care: its uid and every group it belongs to. */
export interface SystemUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  /** The primary group and every supplementary group. */
  readonly groups: readonly number[];
}

/**
 * Looks a system user up through `id`, which goes through NSS (so LDAP or sssd users count too).
 * Resolves null when the user does not exist.
 */
export async function lookupSystemUser(name: string): Promise<SystemUser | null> {
  try {
    const [uid, gid, groups] = await Promise.all([
      execFileAsync('id', ['-u', name]),
      execFileAsync('id', ['-g', name]),
      execFileAsync('id', ['-G', name]),
    ]);
    return {
      name,
      uid: Number.parseInt(uid.stdout, 10),
      gid: Number.parseInt(gid.stdout, 10),
      groups: groups.stdout.trim().split(/\s+/).map(Number),
    };
  } catch {
    // `id` exits 1 for an unknown user; anything else (no `id` at all) means the same to us.
    return null;
  }
}

/**
 * Looks the user up and creates it (a system account without a home or a login shell, in a group
 * of the same name) when it does not exist yet. Only root can create users.
 */
export async function ensureSystemUser(name: string): Promise<SystemUser> {
  const existing = await lookupSystemUser(name);
  if (existing !== null) return existing;
  try {
    await execFileAsync('groupadd', ['--system', '--force', name]);
    await execFileAsync('useradd', [
      '--system',
      '--gid',
      name,
      '--no-create-home',
      '--shell',
      '/usr/sbin/nologin',
      name,
    ]);
  } catch (error: unknown) {
    // Another process may have created it meanwhile; the lookup below decides.
    const created = await lookupSystemUser(name);
    if (created !== null) return created;
    throw new Error(`could not create the system user "${name}" (groupadd/useradd failed)`, { cause: error });
  }
  const created = await lookupSystemUser(name);
  if (created === null) throw new Error(`the system user "${name}" was created but cannot be looked up`);
  return created;
}
