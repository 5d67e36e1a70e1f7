import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PluginError } from '@conveyor/plugin-api';
import type { Mount } from './containerd-types.js';

const run = promisify(execFile);

/**
 * Mount a snapshot's mounts on a temporary directory, run `fn` on it, unmount. Node has no
 * mount(2), so util-linux's mount does it, as containerd's own client does in Go for the same
 * jobs (reading /etc/passwd of an image, chowning a snapshot for a user namespace).
 */
export async function withMounted<T>(
  mounts: readonly Mount[],
  scratchDir: string,
  fn: (dir: string) => Promise<T>,
): Promise<T> {
  const target = await mkdtemp(join(scratchDir, 'mnt-'));
  let mounted = 0;
  try {
    for (const mount of mounts) {
      await mountOne(mount, target);
      mounted++;
    }
    return await fn(target);
  } finally {
    for (; mounted > 0; mounted--) await run('umount', [target]).catch(() => run('umount', ['-l', target]));
    await rm(target, { recursive: true, force: true });
  }
}

async function mountOne(mount: Mount, target: string): Promise<void> {
  const options = mount.options.filter(Boolean);
  const args =
    mount.type === 'bind'
      ? [
          '-o',
          (options.some((o) => o === 'bind' || o === 'rbind') ? options : ['bind', ...options]).join(','),
          mount.source,
          target,
        ]
      : ['-t', mount.type, ...(options.length ? ['-o', options.join(',')] : []), mount.source, target];
  try {
    await run('mount', args);
  } catch (error) {
    throw new PluginError(
      'CONTAINERD_MOUNT_FAILED',
      `cannot mount ${mount.type} ${mount.source} on ${target}: ${(error as { stderr?: string }).stderr?.trim() || (error as Error).message}`,
      { cause: error },
    );
  }
}
