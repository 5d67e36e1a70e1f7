import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { mountsUnder } from './containerd.js';
import { type OciLayout, writeOciLayout } from './oci-images.js';

/**
 * A fuller test image than busybox: Debian bookworm (debootstrap's minbase) with git and
 * ca-certificates, as an OCI image layout. debootstrap takes a minute or more and needs Debian's
 * mirror, so the layout is built once per machine and kept in a cache directory that survives test
 * runs; parallel test processes share one build (the others wait for it).
 */
export const DEBIAN_IMAGE = {
  suite: 'bookworm',
  variant: 'minbase',
  include: ['git', 'ca-certificates'],
  mirror: 'http://deb.debian.org/debian',
  name: 'debian',
  tag: 'bookworm-git',
} as const;

/** Bumped whenever the build below changes what it makes, so an old cache is rebuilt. */
const RECIPE_VERSION = 1;

const DEBOOTSTRAP = '/usr/sbin/debootstrap';
/** debootstrap normally takes one to a few minutes; past this something hangs. */
const DEBOOTSTRAP_TIMEOUT_MS = 30 * 60_000;

/** `$CONVEYOR_TEST_CACHE/debian-bookworm-git`, or under /var/tmp (kept across reboots, unlike /tmp). */
export function debianImageCacheDir(): string {
  const base = process.env.CONVEYOR_TEST_CACHE || '/var/tmp/conveyor-test-images';
  return join(base, `${DEBIAN_IMAGE.name}-${DEBIAN_IMAGE.tag}`);
}

/** Whether the image can be built (or is cached) here; throws in CI when it cannot. */
export function debianImageUnavailable(): string | undefined {
  let reason: string | undefined;
  if (!existsSync(DEBOOTSTRAP)) reason = `${DEBOOTSTRAP} not found: install Debian's debootstrap`;
  else if (process.getuid?.() !== 0) reason = 'debootstrap needs root';
  else if (!which('flock')) reason = "flock not found: install Debian's util-linux";
  if (reason && process.env.CI === 'true') throw new Error(`CI must build the Debian test image: ${reason}`);
  if (reason) console.warn(`\n!!! SKIPPING tests of the Debian image: ${reason}\n`);
  return reason;
}

function which(binary: string): string | undefined {
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    if (existsSync(join(dir, binary))) return join(dir, binary);
  }
  return undefined;
}

/**
 * The Debian image's OCI layout, built on first use: `debootstrap --variant=minbase
 * --include=git,ca-certificates bookworm` into the cache directory, apt's downloads and lists and
 * the host's /etc/hostname and /etc/resolv.conf removed, then one layer with owners kept.
 */
export async function debianImage(options: { log?: (line: string) => void } = {}): Promise<OciLayout> {
  const log = options.log ?? ((line: string) => console.log(line));
  const recipe = { ...DEBIAN_IMAGE, version: RECIPE_VERSION };
  return cachedBuild(debianImageCacheDir(), recipe, {
    log,
    intact: async (layout) =>
      (
        await Promise.all(
          [layout.manifest, layout.config, ...layout.layers].map((b) =>
            stat(join(layout.layoutDir, 'blobs', 'sha256', b.digest.slice(7))).then(
              (s) => s.size === b.size,
              () => false,
            ),
          ),
        )
      ).every(Boolean),
    build: (dir) => buildDebianLayout(dir, log),
  });
}

async function buildDebianLayout(dir: string, log: (line: string) => void): Promise<OciLayout> {
  const rootfs = join(dir, 'rootfs');
  const started = Date.now();
  log(
    `building the Debian test image in ${dir}: debootstrap ${DEBIAN_IMAGE.suite} from ${DEBIAN_IMAGE.mirror} (a few minutes, once per machine)`,
  );
  try {
    await debootstrap(rootfs, join(dir, 'debootstrap.log'));
    const bootstrapped = Date.now();
    // What a Debian image leaves out: downloaded packages, package lists, and the files
    // debootstrap copied from the host (the runtime gives each container its own).
    for (const sub of ['var/cache/apt/archives', 'var/lib/apt/lists']) {
      const path = join(rootfs, sub);
      for (const name of await readdir(path).catch(() => [] as string[]))
        if (name !== 'partial' && name !== 'lock')
          await rm(join(path, name), { recursive: true, force: true });
    }
    await rm(join(rootfs, 'etc', 'hostname'), { force: true });
    await writeFile(join(rootfs, 'etc', 'resolv.conf'), '');
    const layout = await writeOciLayout(rootfs, join(dir, 'layout'), {
      name: DEBIAN_IMAGE.name,
      tag: DEBIAN_IMAGE.tag,
      cmd: ['bash'],
      createdBy: `debootstrap --variant=${DEBIAN_IMAGE.variant} --include=${DEBIAN_IMAGE.include.join(',')} ${DEBIAN_IMAGE.suite} ${DEBIAN_IMAGE.mirror}`,
    });
    const seconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`;
    log(
      `built the Debian test image in ${seconds(Date.now() - started)} (debootstrap ${seconds(bootstrapped - started)}, layer ${seconds(Date.now() - bootstrapped)}; ${(layout.layers[0]?.size ?? 0) >> 20} MiB gzipped)`,
    );
    return layout;
  } finally {
    await unmountUnder(rootfs);
    await rm(rootfs, { recursive: true, force: true });
  }
}

/** Run debootstrap into `target`, its output to `logFile`; kill it (and its chroot's processes) on a hang. */
async function debootstrap(target: string, logFile: string): Promise<void> {
  const { suite, variant, include, mirror } = DEBIAN_IMAGE;
  const child = spawn(
    DEBOOTSTRAP,
    [`--variant=${variant}`, `--include=${include.join(',')}`, suite, target, mirror],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        PATH: `/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
        LC_ALL: 'C',
        DEBIAN_FRONTEND: 'noninteractive',
      },
      // Its own process group, so a hang is killed with everything it started in the chroot.
      detached: true,
    },
  );
  let output = '';
  const collect = (chunk: Buffer) => {
    output += chunk.toString('utf8');
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const timer = setTimeout(() => killGroup(child), DEBOOTSTRAP_TIMEOUT_MS);
  // A test run that is interrupted must not leave debootstrap running into the cache.
  const killOnExit = () => killGroup(child);
  process.once('exit', killOnExit);
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', resolve);
    });
    if (code !== 0) {
      throw new Error(
        `debootstrap of Debian ${suite} from ${mirror} failed (exit ${code}; is the mirror reachable?), full log in ${logFile}:\n${output.slice(-3000)}`,
      );
    }
  } finally {
    clearTimeout(timer);
    process.removeListener('exit', killOnExit);
    await writeFile(logFile, output);
  }
}

function killGroup(child: ChildProcess): void {
  try {
    if (child.pid) process.kill(-child.pid, 'SIGKILL');
  } catch {
    // Gone already.
  }
}

/** debootstrap mounts /proc and /sys in the target and leaves them when it is killed. */
async function unmountUnder(dir: string): Promise<void> {
  for (const target of await mountsUnder(dir)) {
    await new Promise((resolve) => execFile('umount', ['-l', target], resolve));
  }
}

export interface CachedBuildOptions<T> {
  /** Make the thing inside `dir` (emptied first, except for the lock) and describe it. */
  build: (dir: string) => Promise<T>;
  /** Whether a finished build is still all there (someone may have pruned the cache). */
  intact?: (result: T) => Promise<boolean>;
  log?: (line: string) => void;
}

const MARKER = 'complete.json';
const LOCK = '.lock';

/**
 * Build something once per machine into `dir`, for every test process that wants it. A finished
 * build has a marker, written last, that holds its recipe and its result; a process that finds a
 * marker with the same recipe uses it as it is. Otherwise it takes an exclusive flock(2) on
 * `dir/.lock` (another process building the same thing makes it wait), looks again, and builds.
 * The lock is held by a `flock` child process, so it goes when this process dies, however it dies,
 * and a crashed build leaves no marker: the next one starts afresh.
 */
export async function cachedBuild<T>(
  dir: string,
  recipe: unknown,
  options: CachedBuildOptions<T>,
): Promise<T> {
  const wanted = JSON.stringify(recipe);
  const finished = async (): Promise<T | undefined> => {
    const text = await readFile(join(dir, MARKER), 'utf8').catch(() => undefined);
    if (text === undefined) return undefined;
    let marker: { recipe: unknown; result: T };
    try {
      marker = JSON.parse(text) as { recipe: unknown; result: T };
    } catch {
      return undefined;
    }
    if (JSON.stringify(marker.recipe) !== wanted) return undefined;
    if (options.intact && !(await options.intact(marker.result))) return undefined;
    return marker.result;
  };

  const cached = await finished();
  if (cached !== undefined) return cached;
  await mkdir(dir, { recursive: true });
  const release = await lock(join(dir, LOCK), () =>
    options.log?.(`waiting for another process to finish building ${dir}`),
  );
  try {
    const built = await finished();
    if (built !== undefined) return built;
    // What a failed or outdated build left.
    for (const name of await readdir(dir))
      if (name !== LOCK) await rm(join(dir, name), { recursive: true, force: true });
    const result = await options.build(dir);
    const partial = join(dir, `${MARKER}.partial`);
    await writeFile(partial, JSON.stringify({ recipe, result, builtAt: new Date().toISOString() }, null, 2));
    await rename(partial, join(dir, MARKER));
    return result;
  } finally {
    await release();
  }
}

/**
 * Take an exclusive lock on `file` through flock(1): it holds the lock while it runs `cat`, which
 * ends when our end of its stdin closes (release(), or this process's death). Calls `onWait` when
 * the lock is not free within a second.
 */
async function lock(file: string, onWait: () => void): Promise<() => Promise<void>> {
  const child = spawn('flock', ['--exclusive', file, 'sh', '-c', 'echo locked; exec cat >/dev/null'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const closed = new Promise<number | null>((resolve) => child.once('close', resolve));
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const waiting = setTimeout(onWait, 1000);
  try {
    await new Promise<void>((resolve, reject) => {
      let seen = '';
      child.stdout.on('data', (chunk: Buffer) => {
        seen += chunk.toString('utf8');
        if (seen.includes('locked')) resolve();
      });
      child.once('error', reject);
      closed.then((code) => reject(new Error(`flock ${file} exited (${code}) without the lock: ${stderr}`)));
    });
  } finally {
    clearTimeout(waiting);
  }
  return async () => {
    child.stdin.end();
    await closed;
  };
}
