import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MessageChannel } from 'node:worker_threads';
import { createCallContext, type runtime } from '@conveyor/plugin-api';
import { type CallResult, loadPluginForTest, type PluginUnderTest } from '@conveyor/plugin-api/testing';
import {
  containerdUnavailable,
  mountsUnder,
  removeCgroups,
  startContainerd,
  type TestContainerd,
} from '@conveyor/test/harness/containerd.js';
import {
  dockerRegistryUnavailable,
  startDockerRegistry,
  type TestRegistry,
} from '@conveyor/test/harness/docker-registry.js';
import {
  buildBusyboxImage,
  busyboxUnavailable,
  imageScratch,
  type OciImage,
} from '@conveyor/test/harness/oci-images.js';
import * as tar from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fillConfig } from '../src/config.js';
import { ContainerdClient, isNotFound } from '../src/containerd-client.js';
import { containerdId, leaseId } from '../src/ids.js';
import { runProcess } from '../src/tasks.js';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const unavailable = containerdUnavailable() ?? busyboxUnavailable() ?? dockerRegistryUnavailable();
// Per process: containerd's runc state (/run/containerd/runc/<namespace>) is shared machine-wide.
const NAMESPACE = `conveyor-test-${process.pid}`;
const CGROUP_PARENT = `conveyor-test-${process.pid}`;
const MAPPED_ROOT = 1_000_000_000;
const tini = existsSync('/usr/bin/tini-static');
if (!tini && unavailable === undefined) {
  if (process.env.CI === 'true') throw new Error("CI must run the init tests: install Debian's tini");
  console.warn(
    "\n!!! SKIPPING the containerd runtime's init test: /usr/bin/tini-static not found (Debian's tini)\n",
  );
}

describe.skipIf(unavailable !== undefined)('containerd runtime', () => {
  let containerd: TestContainerd;
  let registry: TestRegistry;
  let scratch: string;
  let image: OciImage;
  let plugin: PluginUnderTest<'runtime'>;
  let client: ContainerdClient;
  let config: Record<string, unknown>;
  let counter = 0;
  const created: string[] = [];

  beforeAll(async () => {
    scratch = await imageScratch();
    // Volumes and the plugin's state live here: user-namespaced containers must pass through.
    await chmod(scratch, 0o711);
    image = await buildBusyboxImage(scratch, { env: ['PATH=/bin', 'FROM_IMAGE=yes'] });
    [containerd, registry] = await Promise.all([startContainerd(), startDockerRegistry({ auth: true })]);
    config = {
      address: containerd.address,
      namespace: NAMESPACE,
      stateDir: join(scratch, 'state'),
      cgroupParent: CGROUP_PARENT,
    };
    plugin = await loadPluginForTest<'runtime'>(packageDir, config);
    client = new ContainerdClient({ address: containerd.address, namespace: NAMESPACE });
  });

  afterAll(async () => {
    for (const handle of created) await plugin?.call('destroyContainer', { handle }).catch(() => undefined);
    client?.close();
    await registry?.stop();
    await containerd?.stop();
    await removeCgroups(CGROUP_PARENT);
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  const busybox = (): runtime.ContainerSpec['image'] => ({
    type: 'oci',
    reference: image.reference,
    layoutPath: image.layoutDir,
  });

  /** A naive volume at `path` on the host as a container's image. */
  const volumeImage = (handle: string, path: string, metadata?: Record<string, unknown>): runtime.Image => ({
    type: 'volume',
    volume: { handle, driver: 'naive', location: { type: 'host-path', path } },
    ...(metadata ? { metadata } : {}),
  });

  /** The test image's one layer, unpacked into `dir`: a root filesystem on the host. */
  const unpackImage = (dir: string) =>
    tar.x({
      file: join(image.layoutDir, 'blobs', 'sha256', image.layers[0]?.digest.slice(7) ?? ''),
      cwd: dir,
    });

  async function createContainer(
    spec: Partial<runtime.ContainerSpec> = {},
    labels: Record<string, string> = {},
  ): Promise<string> {
    const handle = `c-${++counter}`;
    created.push(handle);
    await plugin.call('createContainer', { handle, spec: { image: busybox(), ...spec }, labels });
    return handle;
  }

  function sh(
    handle: string,
    script: string,
    options: Parameters<PluginUnderTest<'runtime'>['call']>[2] & { stdin?: boolean; processId?: string } = {},
    process: Partial<runtime.ProcessSpec> = {},
  ): Promise<CallResult<runtime.RunResponse>> {
    const { stdin, processId, ...callOptions } = options;
    return plugin.call(
      'run',
      {
        handle,
        processId: processId ?? `p-${++counter}`,
        process: { path: 'sh', args: ['-c', script], ...process },
        ...(stdin ? { stdin } : {}),
      },
      callOptions,
    );
  }

  const text = (result: CallResult<unknown>, stream: 'stdout' | 'stderr') =>
    result.output
      .filter((o) => o.stream === stream)
      .map((o) => o.data)
      .join('');

  /** Resolves once the process printed `marker`. */
  function startedWhen(marker: string): {
    onOutput: (chunk: { data: string }) => void;
    started: Promise<void>;
  } {
    let resolve = () => {};
    const started = new Promise<void>((r) => {
      resolve = r;
    });
    let seen = '';
    return {
      onOutput: (chunk) => {
        seen += chunk.data;
        if (seen.includes(marker)) resolve();
      },
      started,
    };
  }

  async function hostVolume(files: Record<string, string> = {}): Promise<runtime.VolumeRef> {
    const path = await mkdtemp(join(scratch, 'volume-'));
    for (const [name, content] of Object.entries(files)) await writeFile(join(path, name), content);
    // What a volume driver does for an unprivileged container: the volume's root belongs to the
    // container's root user, i.e. the first uid of the user namespace's range.
    await chown(path, MAPPED_ROOT, MAPPED_ROOT);
    return { handle: `v-${++counter}`, driver: 'naive', location: { type: 'host-path', path } };
  }

  it('says it isolates, can run privileged, with a tty, and reattach, and which user namespace it uses', async () => {
    const { value } = await plugin.call('info', {});
    expect(value).toEqual({
      platform: 'linux',
      capabilities: { isolation: true, privileged: true, tty: true, reattach: true, defaultImage: false },
      idMapping: { hostUid: MAPPED_ROOT, hostGid: MAPPED_ROOT, size: 65536 },
    });
  });

  it("gives a container its own root filesystem and hostname, not the host's", async () => {
    const handle = await createContainer({ hostname: 'step-box' });
    const result = await sh(
      handle,
      'hostname; cat /etc/os-release; ls /work 2>&1; id -u; cat /proc/self/uid_map',
    );
    expect(result.value).toEqual({ exitStatus: 0 });
    const [name, ...rest] = text(result, 'stdout').split('\n');
    expect(name).toBe('step-box');
    expect(name).not.toBe(hostname());
    const output = rest.join('\n');
    expect(output).toContain('ID=conveyor-busybox');
    expect(output).not.toContain((await readFile('/etc/os-release', 'utf8')).split('\n')[0]);
    // Root inside, an unprivileged uid range outside.
    expect(output).toMatch(new RegExp(`^0\\n\\s+0\\s+${MAPPED_ROOT}\\s+65536$`, 'm'));
  });

  it('streams stdout and stderr in order, and reports exit codes', async () => {
    const handle = await createContainer();
    const result = await sh(handle, 'for i in $(seq 1 200); do echo "line $i"; done; echo oops >&2; exit 3');
    expect(result.value).toEqual({ exitStatus: 3 });
    expect(text(result, 'stdout')).toBe(Array.from({ length: 200 }, (_, i) => `line ${i + 1}\n`).join(''));
    expect(text(result, 'stderr')).toBe('oops\n');
    expect((await sh(handle, 'exit 0')).value).toEqual({ exitStatus: 0 });
  });

  it('honours env, working directory and user: the image, the container, the process', async () => {
    const handle = await createContainer({
      env: { A: 'container', B: 'container' },
      dir: '/home/tester',
      user: 'tester',
    });
    const result = await sh(
      handle,
      'echo "$A $B $FROM_IMAGE $HOME"; pwd; id -u; id -g',
      {},
      { env: { B: 'process' } },
    );
    expect(text(result, 'stdout')).toBe('container process yes /home/tester\n/home/tester\n1000\n1000\n');
    const asRoot = await sh(handle, 'id -u; pwd', {}, { user: 'root', dir: '/tmp' });
    expect(text(asRoot, 'stdout')).toBe('0\n/tmp\n');
    // One process's user and directory do not stick to the container.
    expect(text(await sh(handle, 'id -u; pwd'), 'stdout')).toBe('1000\n/home/tester\n');
    await expect(createContainer({ user: 'nobody-here' })).rejects.toMatchObject({
      code: 'CONTAINERD_USER_NOT_FOUND',
    });
  });

  it('feeds stdin from the call stream', async () => {
    const handle = await createContainer();
    const result = await sh(handle, 'tr a-z A-Z', {
      stdin: true,
      input: [Buffer.from('hello '), Buffer.from('world')],
    });
    expect(result.value.exitStatus).toBe(0);
    expect(text(result, 'stdout')).toBe('HELLO WORLD');
  });

  it('bind-mounts volumes: writable ones show the files on the host, read-only ones refuse writes', async () => {
    const input = await hostVolume({ 'input.txt': 'from the input' });
    const output = await hostVolume();
    const handle = await createContainer({
      dir: '/tmp/build/abc',
      mounts: [
        { volume: input, destination: 'repo', readOnly: true },
        { volume: output, destination: '/tmp/build/abc/out' },
      ],
    });
    const result = await sh(
      handle,
      'cat repo/input.txt; echo built > out/artifact; touch repo/nope 2>/dev/null || echo refused',
    );
    expect(text(result, 'stdout')).toBe('from the inputrefused\n');
    const path = join((output.location as { path: string }).path, 'artifact');
    expect(await readFile(path, 'utf8')).toBe('built\n');
    // Written by the container's root: the first uid of its range on the host.
    expect((await stat(path)).uid).toBe(MAPPED_ROOT);
  });

  it('reports 137 and SIGKILL when a sleeping process is killed', async () => {
    const handle = await createContainer();
    const { onOutput, started } = startedWhen('sleeping');
    const running = sh(handle, 'echo sleeping; sleep 1000', { processId: 'sleeper', onOutput });
    await started;
    expect((await plugin.call('signal', { handle, processId: 'sleeper', signal: 'SIGKILL' })).value).toEqual({
      delivered: true,
    });
    expect((await running).value).toEqual({ exitStatus: 137, signal: 'SIGKILL' });
    expect(
      (await plugin.call('signal', { handle, processId: 'sleeper', signal: 'SIGTERM' })).value.delivered,
    ).toBe(false);
  });

  it.skipIf(!tini)('stops a process with SIGTERM: an init (tini) is PID 1, not the step', async () => {
    const handle = await createContainer();
    const { onOutput, started } = startedWhen('sleeping');
    const running = sh(handle, 'echo sleeping; exec sleep 1000', { processId: 'term', onOutput });
    await started;
    await plugin.call('signal', { handle, processId: 'term', signal: 'SIGTERM' });
    expect((await running).value).toEqual({ exitStatus: 143, signal: 'SIGTERM' });
  });

  it('execs further processes into a running container, with or without a tty', async () => {
    const handle = await createContainer();
    const { onOutput, started } = startedWhen('ready');
    const init = sh(handle, 'echo ready; exec sleep 1000', { processId: 'init', onOutput });
    await started;
    const exec = await sh(handle, 'ps -o comm | grep -c sleep; echo $$');
    expect(text(exec, 'stdout')).toMatch(/^1\n\d+\n$/);
    const withTty = await sh(handle, 'test -t 1 && echo "a tty"', {}, { tty: true });
    expect(withTty.value.exitStatus).toBe(0);
    expect(text(withTty, 'stdout')).toContain('a tty');
    await plugin.call('signal', { handle, processId: 'init', signal: 'SIGKILL' });
    expect((await init).value.exitStatus).toBe(137);
    // The task has exited: the next process starts a new one.
    expect(text(await sh(handle, 'echo again'), 'stdout')).toBe('again\n');
  });

  it('reattaches to a process after the call that started it gave up', async () => {
    const handle = await createContainer();
    const filled = fillConfig(config);
    const { port1, port2 } = new MessageChannel();
    const first: string[] = [];
    const context = createCallContext(filled, port2);
    port1.on('message', (message: { type: string; data?: string }) => {
      if (message.type === 'output' && message.data) first.push(message.data);
    });
    const abandoned = runProcess(
      client,
      filled,
      {
        handle,
        processId: 'long',
        process: {
          path: 'sh',
          args: ['-c', 'echo before; while [ ! -e /tmp/go ]; do sleep 0.05; done; echo after; exit 7'],
        },
      },
      context,
    );
    for (let i = 0; i < 100 && !first.join('').includes('before'); i++)
      await new Promise((r) => setTimeout(r, 20));
    port1.postMessage({ type: 'cancel', reason: 'the core stopped' });
    await expect(abandoned).rejects.toThrow();
    port1.close();

    const reattached = plugin.call('run', {
      handle,
      processId: 'long',
      reattach: true,
      process: { path: 'sh' },
    });
    await sh(handle, 'touch /tmp/go');
    const result = await reattached;
    expect(result.value.exitStatus).toBe(7);
    expect(text(result, 'stdout')).toBe('after\n');
    await expect(
      plugin.call('run', { handle, processId: 'never-started', reattach: true, process: { path: 'sh' } }),
    ).rejects.toMatchObject({ code: 'CONTAINERD_PROCESS_NOT_FOUND' });
  });

  it('applies the memory limit in the container cgroup', async () => {
    const handle = await createContainer({ limits: { memoryBytes: 64 * 1024 * 1024, cpuShares: 512 } });
    const result = await sh(
      handle,
      'cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max; cat /sys/fs/cgroup/cpu/cpu.shares 2>/dev/null || echo v2',
    );
    expect(text(result, 'stdout')).toMatch(/^67108864\n(512|v2)\n$/);
  });

  it('runs privileged containers as real root, without a user namespace', async () => {
    const handle = await createContainer({ privileged: true });
    const result = await sh(handle, 'cat /proc/self/uid_map');
    expect(text(result, 'stdout')).toMatch(/^\s+0\s+0\s+4294967295\n$/);
  });

  it('runs a container whose root filesystem is a volume, without writing to the volume', async () => {
    const rootfs = await mkdtemp(join(scratch, 'rootfs-'));
    await unpackImage(rootfs);
    const handle = await createContainer({ image: volumeImage('rootfs', rootfs, { env: ['PATH=/bin'] }) });
    const result = await sh(handle, 'cat /etc/os-release; echo changed > /etc/os-release; id -u');
    expect(text(result, 'stdout')).toContain('ID=conveyor-busybox');
    expect(await readFile(join(rootfs, 'etc', 'os-release'), 'utf8')).toContain('ID=conveyor-busybox');
  });

  it("runs a volume in Concourse's image layout: rootfs/ and the env and user in metadata.json", async () => {
    const artifact = await mkdtemp(join(scratch, 'artifact-'));
    await mkdir(join(artifact, 'rootfs'));
    await unpackImage(join(artifact, 'rootfs'));
    await writeFile(
      join(artifact, 'metadata.json'),
      JSON.stringify({ env: ['PATH=/bin', 'FROM_METADATA=yes'], user: 'nobody' }),
    );
    await writeFile(join(artifact, 'digest'), 'sha256:not-part-of-the-rootfs');
    const handle = await createContainer({ image: volumeImage('artifact', artifact) });
    const result = await sh(handle, 'cat /etc/os-release; echo "$FROM_METADATA"; id -un; ls /digest 2>&1');
    const output = text(result, 'stdout');
    expect(output).toContain('ID=conveyor-busybox');
    expect(output).toContain('yes\nnobody\n');
    expect(output).toContain('No such file');
  });

  it('pulls from a registry that wants credentials', async () => {
    await registry.push(image, 'ci/busybox', 'v1');
    const { username, password } = registry.credentials ?? {};
    const handle = `c-${++counter}`;
    created.push(handle);
    const reference = `${registry.host}/ci/busybox:v1`;
    const { value } = await plugin.call('createContainer', {
      handle,
      spec: { image: { type: 'oci', reference, insecure: true, username, password } },
    });
    // What the tag resolved to, for the host to pin the build's next containers of it.
    expect(value.container.image).toEqual({ reference, digest: image.manifest.digest });
    expect(text(await sh(handle, 'cat /etc/os-release'), 'stdout')).toContain('ID=conveyor-busybox');
    await expect(
      createContainer({
        image: { type: 'oci', reference: `${registry.host}/ci/busybox:v1`, insecure: true },
      }),
    ).rejects.toMatchObject({ code: 'CONTAINERD_REGISTRY_UNAUTHORIZED' });
  });

  it('lists containers by label, with their state', async () => {
    const a = await createContainer({}, { build: '1', step: 'a' });
    const b = await createContainer({}, { build: '1', step: 'b' });
    await createContainer({}, { build: '2' });
    await sh(b, 'true');
    const { value } = await plugin.call('listContainers', { labels: { build: '1' } });
    expect(value.containers.map(({ handle, state, labels }) => ({ handle, state, labels }))).toEqual([
      { handle: a, state: 'created', labels: { build: '1', step: 'a' } },
      { handle: b, state: 'stopped', labels: { build: '1', step: 'b' } },
    ]);
    expect(value.containers[0]?.createdAt).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('refuses a second container with the same handle, and what it cannot run', async () => {
    const handle = await createContainer();
    await expect(
      plugin.call('createContainer', { handle, spec: { image: busybox() } }),
    ).rejects.toMatchObject({
      code: 'CONTAINERD_CONTAINER_EXISTS',
    });
    // A task without an image, and no default image configured.
    const noImage = plugin.call('createContainer', { handle: 'on-host', spec: { image: { type: 'host' } } });
    await expect(noImage).rejects.toMatchObject({ code: 'CONTAINERD_NO_DEFAULT_IMAGE' });
    await expect(noImage).rejects.toThrow(/image_resource.*defaultImage/);
    expect((await plugin.call('listContainers', {})).value.containers.map((c) => c.handle)).not.toContain(
      'on-host',
    );
    const missing = { path: '/no/such/binary', args: [] };
    if (tini) {
      // The init starts, and reports what a shell would: 127, with the reason on stderr.
      const result = await sh(handle, 'true', {}, missing);
      expect(result.value.exitStatus).toBe(127);
      expect(text(result, 'stderr')).toContain('/no/such/binary');
    } else {
      await expect(sh(handle, 'true', {}, missing)).rejects.toMatchObject({
        code: 'CONTAINERD_START_FAILED',
      });
    }
    expect((await sh(handle, 'echo still usable')).value.exitStatus).toBe(0);
    // Exec'd into a running task, a process that cannot start fails the call.
    const { onOutput, started } = startedWhen('up');
    const init = sh(handle, 'echo up; exec sleep 1000', { processId: 'holder', onOutput });
    await started;
    await expect(sh(handle, 'true', {}, missing)).rejects.toMatchObject({ code: 'CONTAINERD_START_FAILED' });
    await plugin.call('signal', { handle, processId: 'holder', signal: 'SIGKILL' });
    expect((await init).value.exitStatus).toBe(137);
  });

  it('destroys a container completely: no container, task, snapshot, lease or mount is left', async () => {
    const volume = await hostVolume();
    const handle = await createContainer({ mounts: [{ volume, destination: '/out' }] }, { doomed: 'yes' });
    const { onOutput, started } = startedWhen('up');
    const running = sh(handle, 'echo up; sleep 1000', { onOutput });
    await started;
    const id = containerdId(handle);
    expect((await mountsUnder(containerd.dir)).some((m) => m.includes(id))).toBe(true);

    expect((await plugin.call('destroyContainer', { handle })).value).toEqual({ destroyed: true });
    expect((await running).value.exitStatus).toBe(137);
    const gone = (call: Promise<unknown>) =>
      call.then(
        () => false,
        (error: unknown) => isNotFound(error),
      );
    expect(await gone(client.call('containers', 'Get', { id }))).toBe(true);
    expect(await gone(client.call('tasks', 'Get', { container_id: id }))).toBe(true);
    expect(await gone(client.call('snapshots', 'Stat', { snapshotter: 'overlayfs', key: id }))).toBe(true);
    const { leases } = await client.call<{ leases: Array<{ id: string }> }>('leases', 'List', {});
    expect(leases.map((l) => l.id)).not.toContain(leaseId(id));
    expect((await mountsUnder(containerd.dir)).filter((m) => m.includes(id))).toEqual([]);
    expect((await mountsUnder(join(scratch, 'state'))).length).toBe(0);
    expect((await plugin.call('listContainers', { labels: { doomed: 'yes' } })).value.containers).toEqual([]);
    // The volume is the volume driver's: it stays.
    expect((await stat((volume.location as { path: string }).path)).isDirectory()).toBe(true);

    expect((await plugin.call('destroyContainer', { handle })).value).toEqual({ destroyed: false });
  });

  it('creates containers of a new image concurrently: one pull, one remap, all of them run', async () => {
    const fresh = await buildBusyboxImage(scratch, {
      tag: 'concurrent',
      env: ['PATH=/bin'],
      files: { '/etc/motd': 'new\n' },
    });
    const image = { type: 'oci' as const, reference: fresh.reference, layoutPath: fresh.layoutDir };
    const handles = Array.from({ length: 4 }, () => `c-${++counter}`);
    created.push(...handles);
    await Promise.all(handles.map((handle) => plugin.call('createContainer', { handle, spec: { image } })));
    const results = await Promise.all(handles.map((handle) => sh(handle, 'cat /etc/motd; id -u')));
    for (const result of results) expect(text(result, 'stdout')).toBe('new\n0\n');
  });

  it('says what to check when containerd cannot be reached', async () => {
    const lost = await loadPluginForTest<'runtime'>(packageDir, {
      ...config,
      address: join(scratch, 'no.sock'),
    });
    await expect(lost.call('listContainers', {})).rejects.toMatchObject({ code: 'CONTAINERD_UNAVAILABLE' });
  });

  it('creates the working directory and mount points the image lacks', async () => {
    const volume = await hostVolume();
    await mkdir(join((volume.location as { path: string }).path, 'sub'));
    const handle = await createContainer({ dir: '/new/dir', mounts: [{ volume, destination: 'deep/vol' }] });
    const result = await sh(handle, 'pwd; ls deep/vol');
    expect(text(result, 'stdout')).toBe('/new/dir\nsub\n');
  });
});
