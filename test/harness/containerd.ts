import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * A private containerd 1.6 for tests: its own root, state, sockets and plugin directories, the CRI
 * plugin off, overlayfs as the snapshotter, so it never touches a system containerd. stop() kills
 * it and every shim and container it started, unmounts what they left under its directory, and
 * removes the directory.
 */
export interface TestContainerd {
  /** The gRPC socket: the plugin's `address`. */
  readonly address: string;
  /** The temporary directory that holds root/, state/, the sockets and the config. */
  readonly dir: string;
  readonly root: string;
  readonly state: string;
  /** containerd's log so far (stderr), for failure messages. */
  log(): string;
  /** SIGKILL containerd itself (not its shims), as a crash would. */
  kill(): Promise<void>;
  /** Start containerd again on the same root, state and socket after kill(). */
  restart(): Promise<void>;
  /** Run `ctr` against this containerd; resolves with stdout. */
  ctr(args: readonly string[], options?: { namespace?: string }): Promise<string>;
  stop(): Promise<void>;
}

export const CONTAINERD_BINARIES = ['containerd', 'containerd-shim-runc-v2', 'runc', 'ctr'] as const;

/** Where each binary is, or undefined when it is not on PATH. */
function which(binary: string): string | undefined {
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    const path = join(dir, binary);
    if (existsSync(path)) return path;
  }
  return undefined;
}

/**
 * Whether containerd tests can run here: the Debian packages containerd and runc, and root. On a
 * developer's laptop the caller skips loudly; in CI (CI=true) this throws, since CI must run them.
 */
export function containerdUnavailable(): string | undefined {
  const missing = CONTAINERD_BINARIES.filter((binary) => !which(binary));
  let reason: string | undefined;
  if (missing.length)
    reason = `${missing.join(', ')} not found: install Debian's containerd and runc packages`;
  else if (process.getuid?.() !== 0) reason = 'containerd and runc need root';
  if (reason && process.env.CI === 'true') throw new Error(`CI must run the containerd tests: ${reason}`);
  if (reason) console.warn(`\n!!! SKIPPING containerd tests: ${reason}\n`);
  return reason;
}

function configToml(dir: string): string {
  const root = join(dir, 'root');
  const state = join(dir, 'state');
  // Only what a test needs: everything else that could reach outside the directory is off.
  return `version = 2
root = "${root}"
state = "${state}"
plugin_dir = "${join(dir, 'plugins')}"
disabled_plugins = [
  "io.containerd.grpc.v1.cri",
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.tracing.processor.v1.otlp",
]

[grpc]
  address = "${join(dir, 'containerd.sock')}"

[ttrpc]
  address = "${join(dir, 'containerd.sock.ttrpc')}"

[debug]
  address = ""
  level = "info"

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "${join(dir, 'opt')}"

[plugins."io.containerd.snapshotter.v1.overlayfs"]
  root_path = "${join(root, 'io.containerd.snapshotter.v1.overlayfs')}"
`;
}

export async function startContainerd(): Promise<TestContainerd> {
  // Short: shim socket paths derive from it and unix socket paths are limited to 108 bytes.
  const dir = await mkdtemp(join(tmpdir(), 'ctd-'));
  // A user-namespaced container's root (an unprivileged host uid) must be able to pass through to
  // its bundle and rootfs, as it can through /run/containerd and /var/lib/containerd.
  await chmod(dir, 0o711);
  const address = join(dir, 'containerd.sock');
  const root = join(dir, 'root');
  const state = join(dir, 'state');
  await mkdir(join(dir, 'opt'), { recursive: true });
  await writeFile(join(dir, 'config.toml'), configToml(dir));

  const stderr: Buffer[] = [];
  const log = () => Buffer.concat(stderr).toString('utf8');
  let child: ChildProcess;
  let exited = false;
  const launch = () => {
    exited = false;
    child = spawn('containerd', ['--config', join(dir, 'config.toml')], {
      stdio: ['ignore', 'ignore', 'pipe'],
      // Its own process group, so a test runner's Ctrl-C does not reach it before stop() does.
      detached: true,
    });
    child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.once('exit', () => {
      exited = true;
    });
  };
  launch();

  // A test that dies without stop() must not leave containerd running for the next one.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const cleanup = async () => {
    process.removeListener('exit', killOnExit);
    const namespaces = exited ? [] : await removeTasks(address);
    if (!exited) {
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timedOut = await Promise.race([gone.then(() => false), sleep(5000).then(() => true)]);
      if (timedOut) {
        child.kill('SIGKILL');
        await gone;
      }
    }
    await killShims(address);
    await unmountUnder(dir);
    await rm(dir, { recursive: true, force: true });
    // runc keeps a directory per namespace, shared by every containerd; ours are empty by now.
    for (const namespace of namespaces)
      await rmdir(join('/run/containerd/runc', namespace)).catch(() => undefined);
  };

  const ready = async () => {
    for (let waited = 0; ; waited += 25) {
      if (exited || waited > 20_000) throw new Error(`containerd did not start: ${log().slice(-2000)}`);
      if (await isSocket(address)) {
        // The socket appears before the services are registered: ask for the version.
        const ok = await run('ctr', ['--address', address, 'version'], { timeout: 5000 }).then(
          () => true,
          () => false,
        );
        if (ok) return;
      }
      await sleep(25);
    }
  };
  try {
    await ready();
  } catch (error) {
    await cleanup();
    throw error;
  }

  return {
    address,
    dir,
    root,
    state,
    log,
    async ctr(args, options = {}) {
      const { stdout } = await run(
        'ctr',
        ['--address', address, '--namespace', options.namespace ?? 'default', ...args],
        { maxBuffer: 64 * 1024 * 1024 },
      );
      return stdout;
    },
    async kill() {
      if (exited) return;
      const gone = new Promise((resolve) => child.once('exit', resolve));
      // containerd alone: its shims, and the tasks they run, live on, as after a real crash.
      child.kill('SIGKILL');
      await gone;
    },
    async restart() {
      if (!exited) throw new Error('containerd is still running: kill() it first');
      launch();
      await ready();
    },
    stop: cleanup,
  };
}

async function isSocket(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isSocket(),
    () => false,
  );
}

/** The processes whose command line matches: pid → argv. */
async function processes(): Promise<Map<number, { argv: string[]; ppid: number }>> {
  const found = new Map<number, { argv: string[]; ppid: number }>();
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const argv = (await readFile(`/proc/${name}/cmdline`, 'utf8')).split('\0').filter(Boolean);
      const stat = await readFile(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      found.set(Number(name), { argv, ppid });
    } catch {
      // Exited while we looked.
    }
  }
  return found;
}

/** Kill and delete every task of every namespace through containerd; returns the namespaces. */
async function removeTasks(address: string): Promise<string[]> {
  const ctr = (args: string[]) =>
    run('ctr', ['--address', address, ...args], { timeout: 15_000 }).then(
      ({ stdout }) => stdout,
      () => '',
    );
  const namespaces = (await ctr(['namespaces', 'ls', '-q'])).split('\n').filter(Boolean);
  for (const namespace of namespaces) {
    for (const id of (await ctr(['-n', namespace, 'tasks', 'ls', '-q'])).split('\n').filter(Boolean))
      await ctr(['-n', namespace, 'tasks', 'delete', '--force', id]);
  }
  return namespaces;
}

/**
 * Shims outlive containerd by design; what containerd could not delete is removed by hand: runc
 * deletes the container (killing its processes, removing its cgroup and its state under
 * /run/containerd/runc/<namespace>, which is shared by every containerd), then the shim is killed
 * and its socket removed. Shims are found by our socket in their command line.
 */
async function killShims(address: string): Promise<void> {
  const all = await processes();
  const shims = [...all].filter(
    ([, p]) => p.argv[0]?.endsWith('containerd-shim-runc-v2') && p.argv.includes(address),
  );
  for (const [shim, { argv }] of shims) {
    const namespace = argv[argv.indexOf('-namespace') + 1];
    const id = argv[argv.indexOf('-id') + 1];
    if (namespace && id) {
      await run('runc', ['--root', join('/run/containerd/runc', namespace), 'delete', '--force', id]).catch(
        () => undefined,
      );
      const socket = createHash('sha256')
        .update(join(address, namespace, id))
        .digest('hex');
      await rm(join('/run/containerd/s', socket), { force: true });
    }
    for (const [pid, p] of all) if (p.ppid === shim) killQuietly(pid);
    killQuietly(shim);
  }
  for (let waited = 0; waited < 5000; waited += 50) {
    if (shims.every(([pid]) => !existsSync(`/proc/${pid}/cmdline`) || isZombie(pid))) break;
    await sleep(50);
  }
}

function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Gone already.
  }
}

/** Mount points at or under `dir`, deepest first. */
export async function mountsUnder(dir: string): Promise<string[]> {
  const table = await readFile('/proc/mounts', 'utf8');
  return table
    .split('\n')
    .map((line) => line.split(' ')[1])
    .filter((target): target is string => target !== undefined)
    .map((target) =>
      target.replace(/\\(\d{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8))),
    )
    .filter((target) => target === dir || target.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

async function unmountUnder(dir: string): Promise<void> {
  for (let round = 0; round < 3; round++) {
    const targets = await mountsUnder(dir);
    if (!targets.length) return;
    for (const target of targets) await run('umount', ['-l', target]).catch(() => undefined);
  }
}

/** Remove a cgroup subtree (leaves first) in every v1 hierarchy and in the v2 tree; best effort. */
export async function removeCgroups(relative: string): Promise<void> {
  const roots = ['/sys/fs/cgroup'];
  for (const name of await readdir('/sys/fs/cgroup').catch(() => [] as string[]))
    roots.push(join('/sys/fs/cgroup', name));
  for (const base of roots) await removeCgroupTree(join(base, relative));
}

async function removeCgroupTree(path: string): Promise<void> {
  const entries = await readdir(path, { withFileTypes: true }).catch(() => undefined);
  if (!entries) return;
  for (const entry of entries) if (entry.isDirectory()) await removeCgroupTree(join(path, entry.name));
  await rmdir(path).catch(() => undefined);
}
