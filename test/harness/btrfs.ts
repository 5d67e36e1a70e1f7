import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { mkdir, mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A btrfs filesystem on a loop file, mounted for one suite. */
export interface BtrfsLoop {
  /** Where the filesystem is mounted. */
  readonly path: string;
  /** The loop device it is on, e.g. /dev/loop3. */
  readonly device: string;
  /** Unmount it, detach the loop device and remove the loop file. */
  stop(): Promise<void>;
}

export interface BtrfsLoopOptions {
  /** Size of the loop file (sparse: only what is written takes space). Default 512 MiB. */
  sizeBytes?: number;
  /** Where the loop file and the mount point go; default a new directory under the temp dir. */
  parentDir?: string;
}

/** mkfs.btrfs refuses devices smaller than this with its default profiles. */
const MIN_SIZE = 128 * 1024 * 1024;

/**
 * Why a btrfs loop filesystem cannot be made here, or undefined when it can: it needs root,
 * mkfs.btrfs (btrfs-progs), losetup and mount (util-linux), and loop devices.
 */
export function btrfsUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'a btrfs loop filesystem needs root (mount, losetup)';
  for (const [tool, pkg] of [
    ['mkfs.btrfs', 'btrfs-progs'],
    ['btrfs', 'btrfs-progs'],
    ['losetup', 'mount'],
    ['mount', 'mount'],
  ] as const) {
    if (!onPath(tool)) return `${tool} is not installed (apt-get install ${pkg})`;
  }
  if (!existsSync('/dev/loop-control')) return 'this machine has no loop devices (/dev/loop-control)';
  // A kernel without btrfs shows when mount fails, and startBtrfsLoop says so.
  return undefined;
}

/**
 * The pattern for suites that need btrfs: returns the reason to skip (after saying so loudly), or
 * undefined. In CI, which runs as root with btrfs-progs installed, a reason is an error instead.
 */
export function skipUnlessBtrfs(suite: string): string | undefined {
  const reason = btrfsUnavailable();
  if (!reason) return undefined;
  if (process.env.CI === 'true') throw new Error(`CI must run ${suite}: ${reason}`);
  console.warn(`SKIPPING ${suite}: ${reason}`);
  return reason;
}

/**
 * Make a btrfs filesystem on a sparse loop file and mount it. Throws, saying what is missing,
 * where it cannot (see btrfsUnavailable). Always pair with stop(), in an afterAll.
 */
export async function startBtrfsLoop(options: BtrfsLoopOptions = {}): Promise<BtrfsLoop> {
  const reason = btrfsUnavailable();
  if (reason) throw new Error(`cannot make a btrfs loop filesystem: ${reason}`);
  const sizeBytes = Math.max(options.sizeBytes ?? 512 * 1024 * 1024, MIN_SIZE);
  const dir = await mkdtemp(join(options.parentDir ?? tmpdir(), 'conveyor-btrfs-'));
  const image = join(dir, 'btrfs.img');
  const path = join(dir, 'mnt');
  let attached: string | undefined;
  let mounted = false;

  const stop = async (): Promise<void> => {
    const problems: string[] = [];
    if (mounted) {
      await run('umount', [path]).catch((error: unknown) =>
        problems.push(`umount ${path}: ${stderrOf(error)}`),
      );
      mounted = false;
    }
    if (attached) {
      const device = attached;
      await run('losetup', ['--detach', device]).catch((error: unknown) =>
        problems.push(`losetup --detach ${device}: ${stderrOf(error)}`),
      );
      attached = undefined;
    }
    if (!problems.length) await rm(dir, { recursive: true, force: true });
    if (problems.length)
      throw new Error(`the btrfs loop filesystem in ${dir} was not fully removed: ${problems.join('; ')}`);
  };

  try {
    const file = await open(image, 'w');
    await file.truncate(sizeBytes);
    await file.close();
    await run('mkfs.btrfs', ['--quiet', image]);
    const device = (await run('losetup', ['--find', '--show', image])).stdout.trim();
    attached = device;
    await mkdir(path);
    await run('mount', ['-t', 'btrfs', device, path]);
    mounted = true;
    return { path, device, stop };
  } catch (error) {
    await stop().catch(() => undefined);
    throw new Error(`cannot make a btrfs loop filesystem in ${dir}: ${stderrOf(error)}`, { cause: error });
  }
}

function onPath(tool: string): boolean {
  const dirs = `${process.env.PATH ?? ''}${delimiter}/usr/sbin${delimiter}/sbin`.split(delimiter);
  return dirs.some((dir) => {
    try {
      accessSync(join(dir, tool), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

function stderrOf(error: unknown): string {
  const stderr = (error as { stderr?: unknown }).stderr;
  if (typeof stderr === 'string' && stderr.trim()) return stderr.trim();
  return error instanceof Error ? error.message : String(error);
}
