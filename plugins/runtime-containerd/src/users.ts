import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PluginError } from '@conveyor/plugin-api';

export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids: number[];
  home: string;
}

const ROOT: ResolvedUser = { uid: 0, gid: 0, additionalGids: [], home: '/root' };

/** Whether resolving `user` needs the container's /etc/passwd and /etc/group. */
export function needsUserDatabase(user: string | undefined): boolean {
  return user !== undefined && user !== '' && !/^\d+:\d+$/.test(user);
}

/**
 * Resolve `user`, `uid`, `user:group` or `uid:gid` against the /etc/passwd and /etc/group under
 * `root`, as Docker and containerd do: a numeric id needs no entry; a name must have one.
 */
export async function resolveUser(
  user: string | undefined,
  root: string | undefined,
  where: string,
): Promise<ResolvedUser> {
  if (user === undefined || user === '') return ROOT;
  const [userPart = '', groupPart] = user.split(':', 2);
  const passwd = root ? await readDatabase(join(root, 'etc', 'passwd')) : [];
  const groups = root ? await readDatabase(join(root, 'etc', 'group')) : [];
  const entry = passwd.find((fields) =>
    /^\d+$/.test(userPart) ? fields[2] === userPart : fields[0] === userPart,
  );
  if (!entry && !/^\d+$/.test(userPart)) {
    throw new PluginError(
      'CONTAINERD_USER_NOT_FOUND',
      `${where}: user ${JSON.stringify(userPart)} is not in the image's /etc/passwd`,
    );
  }
  const uid = entry ? Number(entry[2]) : Number(userPart);
  let gid = entry ? Number(entry[3]) : 0;
  if (groupPart !== undefined) {
    const group = groups.find((fields) =>
      /^\d+$/.test(groupPart) ? fields[2] === groupPart : fields[0] === groupPart,
    );
    if (!group && !/^\d+$/.test(groupPart)) {
      throw new PluginError(
        'CONTAINERD_USER_NOT_FOUND',
        `${where}: group ${JSON.stringify(groupPart)} is not in the image's /etc/group`,
      );
    }
    gid = group ? Number(group[2]) : Number(groupPart);
  }
  const name = entry?.[0];
  const additionalGids = name
    ? groups
        .filter((fields) => (fields[3] ?? '').split(',').includes(name))
        .map((fields) => Number(fields[2]))
        .filter((g) => g !== gid)
    : [];
  return { uid, gid, additionalGids, home: entry?.[5] || (uid === 0 ? '/root' : '/') };
}

async function readDatabase(path: string): Promise<string[][]> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => line.split(':'));
}
