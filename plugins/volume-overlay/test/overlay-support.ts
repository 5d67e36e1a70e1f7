import { readFileSync } from 'node:fs';

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
