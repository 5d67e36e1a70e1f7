import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand } from '@conveyor/plugin-api/volume-kit';
import { readMounts } from '../src/mounts.js';

/**
 * Why overlay tests cannot run here, or undefined when they can. On a developer's laptop they are
 * skipped loudly; CI runs as root on a kernel with overlayfs, so there a reason is an error.
 */
export function overlayUnavailable(): string | undefined {
  let reason: string | undefined;
  if (process.getuid?.() !== 0) reason = 'overlay mounts need root';
  else if (!readFileSync('/proc/filesystems', 'utf8').includes('\toverlay\n')) {
    reason = 'the kernel has no overlay filesystem (modprobe overlay)';
  }
  if (reason && process.env.CI === 'true') throw new Error(`CI must run the overlay volume tests: ${reason}`);
  return reason;
}

/** Whether this kernel keeps `metacopy=on` on an overlay with its upper layer under `parent`. */
export async function kernelTakesMetacopy(parent: string): Promise<boolean> {
  const dir = await mkdtemp(join(parent, 'metacopy-'));
  const merged = join(dir, 'merged');
  for (const layer of ['lower', 'upper', 'work', 'merged']) await mkdir(join(dir, layer));
  try {
    const options = 'lowerdir=lower,upperdir=upper,workdir=work,index=off,metacopy=on';
    const mounted = await runCommand('mount', ['-t', 'overlay', 'overlay', '-o', options, merged], {
      cwd: dir,
    })
      .then(() => true)
      .catch(() => false);
    if (!mounted) return false;
    const mount = (await readMounts()).find((m) => m.mountPoint === merged);
    await runCommand('umount', [merged]);
    return mount?.superOptions.split(',').includes('metacopy=on') ?? false;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
