import { userInfo } from 'node:os';
import { PluginError } from '@conveyor/plugin-api';

/** The local runtime cannot switch users: it accepts only the user it already runs as. */
export function assertCurrentUser(user: string | undefined, where: string): void {
  if (user === undefined || user === '') return;
  const me = userInfo();
  if (user === me.username || user === String(me.uid)) return;
  throw new PluginError(
    'LOCAL_USER_UNSUPPORTED',
    `${where} asks to run as ${JSON.stringify(user)}, but the local runtime runs everything as ${me.username}; drop the user or use the containerd runtime`,
  );
}
