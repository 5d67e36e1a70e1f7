import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { runtime } from '@conveyor/plugin-api';
import { type CallResult, loadPluginForTest, type PluginUnderTest } from '@conveyor/plugin-api/testing';
import { processRuns as isRunning } from '@conveyor/test/harness/processes.js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
let scratch: string;
let root: string;
let plugin: PluginUnderTest<'runtime'>;
let counter = 0;
const started: string[] = [];

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'local-runtime-test-'));
  root = join(scratch, 'containers');
  plugin = await loadPluginForTest<'runtime'>(packageDir, { root });
});

afterAll(async () => {
  for (const handle of started) await plugin.call('destroyContainer', { handle });
  await rm(scratch, { recursive: true, force: true });
});

async function createContainer(
  spec: Partial<runtime.ContainerSpec> = {},
  labels: Record<string, string> = {},
): Promise<string> {
  const handle = `c-${++counter}`;
  await plugin.call('createContainer', { handle, spec: { image: { type: 'host' }, ...spec }, labels });
  started.push(handle);
  return handle;
}

async function sh(
  handle: string,
  script: string,
  options: Parameters<PluginUnderTest<'runtime'>['call']>[2] & { stdin?: boolean } = {},
): Promise<CallResult<runtime.RunResponse>> {
  const { stdin, ...callOptions } = options;
  return plugin.call(
    'run',
    {
      handle,
      processId: `p-${++counter}`,
      process: { path: 'sh', args: ['-c', script] },
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

async function hostVolume(files: Record<string, string> = {}): Promise<runtime.VolumeRef> {
  const path = await mkdtemp(join(scratch, 'volume-'));
  for (const [name, content] of Object.entries(files)) await writeFile(join(path, name), content);
  return { handle: `v-${++counter}`, driver: 'naive', location: { type: 'host-path', path } };
}

const pathOf = (volume: runtime.VolumeRef) => (volume.location as { path: string }).path;

describe('local runtime', () => {
  it('says it isolates nothing', async () => {
    const { value } = await plugin.call('info', {});
    expect(value.capabilities).toEqual({ isolation: false, privileged: false, tty: false, reattach: false });
  });

  it('runs a command and streams its output in order', async () => {
    const handle = await createContainer();
    const result = await sh(handle, 'for i in $(seq 1 200); do echo "line $i"; done; echo oops >&2');
    expect(result.value).toEqual({ exitStatus: 0 });
    const expected = Array.from({ length: 200 }, (_, i) => `line ${i + 1}\n`).join('');
    expect(text(result, 'stdout')).toBe(expected);
    expect(text(result, 'stderr')).toBe('oops\n');
  });

  it('reports exit codes, and 128+N with the signal when killed by signal N', async () => {
    const handle = await createContainer();
    expect((await sh(handle, 'exit 3')).value).toEqual({ exitStatus: 3 });
    expect((await sh(handle, 'kill -TERM $$')).value).toEqual({ exitStatus: 143, signal: 'SIGTERM' });
  });

  it('builds the environment from PATH and HOME, the container and the process', async () => {
    const handle = await createContainer({ env: { A: 'container', B: 'container' } });
    process.env.CCTEST_SHOULD_NOT_LEAK = 'secret';
    try {
      const result = await plugin.call('run', {
        handle,
        processId: 'env',
        process: {
          path: 'sh',
          args: [
            '-c',
            'echo "$A $B"; if [ -n "$CCTEST_SHOULD_NOT_LEAK" ]; then echo leaked; else echo unset; fi; command -v ls',
          ],
          env: { B: 'process' },
        },
      });
      expect(text(result, 'stdout')).toMatch(/^container process\nunset\n\/.*ls\n$/);
    } finally {
      delete process.env.CCTEST_SHOULD_NOT_LEAK;
    }
  });

  it('feeds stdin from the call stream', async () => {
    const handle = await createContainer();
    const result = await sh(handle, 'tr a-z A-Z', {
      stdin: true,
      input: [Buffer.from('hello '), Buffer.from('world')],
    });
    expect(text(result, 'stdout')).toBe('HELLO WORLD');
  });

  it('lays out mounts where a Concourse task expects them', async () => {
    const input = await hostVolume({ 'input.txt': 'from the input' });
    const output = await hostVolume();
    const handle = await createContainer({
      dir: '/tmp/build/abc123',
      mounts: [
        { volume: input, destination: '/tmp/build/abc123/repo' },
        { volume: output, destination: 'out/result' },
      ],
    });
    const result = await sh(handle, 'pwd; cat repo/input.txt; echo built > out/result/artifact');
    expect(result.value.exitStatus).toBe(0);
    const [pwd, content] = text(result, 'stdout').split('\n');
    expect(pwd).toBe(join(root, handle, 'workdir', 'tmp', 'build', 'abc123'));
    expect(content).toBe('from the input');
    expect(await readFile(join(pathOf(output), 'artifact'), 'utf8')).toBe('built\n');

    const inRepo = await plugin.call('run', {
      handle,
      processId: 'in-repo',
      process: { path: 'cat', args: ['input.txt'], dir: 'repo' },
    });
    expect(text(inRepo, 'stdout')).toBe('from the input');
  });

  it('says which settings it cannot honour', async () => {
    const volume = await hostVolume();
    const handle = `c-${++counter}`;
    const { output } = await plugin.call('createContainer', {
      handle,
      spec: {
        image: { type: 'host' },
        limits: { memoryBytes: 1 << 30 },
        mounts: [{ volume, destination: 'input', readOnly: true }],
      },
    });
    started.push(handle);
    expect(output.filter((o) => o.stream === 'log').map((o) => o.data)).toEqual([
      `container ${handle}: limits is ignored by the local runtime`,
      `container ${handle}: readOnly on mounts is ignored by the local runtime`,
    ]);
  });

  it('kills the whole process tree with a signal', async () => {
    const handle = await createContainer();
    let grandchild: number | undefined;
    let signalled: Promise<unknown> | undefined;
    const result = await plugin.call(
      'run',
      { handle, processId: 'tree', process: { path: 'sh', args: ['-c', 'sleep 1000 & echo $!; wait'] } },
      {
        onOutput: (chunk) => {
          if (grandchild !== undefined || chunk.stream !== 'stdout') return;
          grandchild = Number(chunk.data.trim());
          signalled = plugin.call('signal', { handle, processId: 'tree', signal: 'SIGTERM' });
        },
      },
    );
    expect(await signalled).toMatchObject({ value: { delivered: true } });
    expect(result.value).toEqual({ exitStatus: 143, signal: 'SIGTERM' });
    expect(grandchild).toBeGreaterThan(0);
    // The group got the signal together, but the kernel ends each member when it is next
    // scheduled: the shell may be reaped before its sleep has died on a busy machine.
    await vi.waitFor(() => expect(isRunning(grandchild as number)).toBe(false), { timeout: 5_000 });
  });

  it('reports a signal to an unknown process as not delivered', async () => {
    const handle = await createContainer();
    const { value } = await plugin.call('signal', { handle, processId: 'nobody', signal: 'SIGKILL' });
    expect(value).toEqual({ delivered: false });
  });

  it('destroys a container: every process it started, and its directory, but not its volumes', async () => {
    const volume = await hostVolume({ 'keep.txt': 'keep me' });
    const handle = await createContainer({ mounts: [{ volume, destination: 'input' }] });
    // The step exits at once and leaves a daemon behind, holding none of its output streams.
    const result = await sh(handle, 'sleep 1000 >/dev/null 2>&1 & echo $!');
    const daemon = Number(text(result, 'stdout').trim());
    expect(isRunning(daemon)).toBe(true);

    expect((await plugin.call('destroyContainer', { handle })).value).toEqual({ destroyed: true });
    expect(isRunning(daemon)).toBe(false);
    expect((await readdir(root)).filter((name) => name.includes(handle))).toEqual([]);
    expect(await readFile(join(pathOf(volume), 'keep.txt'), 'utf8')).toBe('keep me');
    expect((await plugin.call('destroyContainer', { handle })).value).toEqual({ destroyed: false });
  });

  it('lists containers by labels, with their state', async () => {
    const idle = await createContainer({}, { suite: 'list', which: 'idle' });
    const done = await createContainer({}, { suite: 'list', which: 'done' });
    const busy = await createContainer({}, { suite: 'list', which: 'busy' });
    await sh(done, 'true');
    await sh(busy, 'sleep 1000 >/dev/null 2>&1 &');
    const { value } = await plugin.call('listContainers', { labels: { suite: 'list' } });
    const states = Object.fromEntries(value.containers.map((c) => [c.handle, c.state]));
    expect(states).toEqual({ [idle]: 'created', [done]: 'stopped', [busy]: 'running' });
    const one = await plugin.call('listContainers', { labels: { suite: 'list', which: 'idle' } });
    expect(one.value.containers.map((c) => c.handle)).toEqual([idle]);
    await plugin.call('destroyContainer', { handle: busy });
  });

  it('never lists a container still being made', async () => {
    await mkdir(join(root, `.creating-${process.pid}-half-made-0000`, 'workdir'), { recursive: true });
    const { value } = await plugin.call('listContainers', {});
    expect(value.containers.some((c) => c.handle.includes('half-made'))).toBe(false);
  });

  describe('refuses what it cannot do', () => {
    const refusals: Array<[string, () => Promise<unknown>, string]> = [
      [
        'an image',
        () =>
          plugin.call('createContainer', {
            handle: 'with-image',
            spec: { image: { type: 'oci', reference: 'busybox' } },
          }),
        'LOCAL_IMAGE_UNSUPPORTED',
      ],
      [
        'another user',
        () =>
          plugin.call('createContainer', {
            handle: 'as-nobody',
            spec: { image: { type: 'host' }, user: 'nobody' },
          }),
        'LOCAL_USER_UNSUPPORTED',
      ],
      [
        'a volume that is not on this host',
        () =>
          plugin.call('createContainer', {
            handle: 'pvc',
            spec: {
              image: { type: 'host' },
              mounts: [
                {
                  volume: {
                    handle: 'v',
                    driver: 'pvc',
                    location: { type: 'pvc', claimName: 'c', namespace: 'n' },
                  },
                  destination: 'input',
                },
              ],
            },
          }),
        'LOCAL_MOUNT_UNSUPPORTED',
      ],
      [
        'a mount outside the container',
        async () =>
          plugin.call('createContainer', {
            handle: 'escape',
            spec: {
              image: { type: 'host' },
              mounts: [{ volume: await hostVolume(), destination: '../../etc' }],
            },
          }),
        'LOCAL_PATH_ESCAPES',
      ],
      [
        'a process dir outside the container',
        async () =>
          plugin.call('run', {
            handle: await createContainer(),
            processId: 'escape',
            process: { path: 'pwd', dir: '/../..' },
          }),
        'LOCAL_PATH_ESCAPES',
      ],
      [
        'a command that does not exist',
        async () =>
          plugin.call('run', {
            handle: await createContainer(),
            processId: 'missing',
            process: { path: 'no-such-command-cctest' },
          }),
        'LOCAL_SPAWN_FAILED',
      ],
      [
        'a container that does not exist',
        () => plugin.call('run', { handle: 'no-such-container', processId: 'p', process: { path: 'true' } }),
        'LOCAL_CONTAINER_NOT_FOUND',
      ],
      [
        'a handle that is taken',
        async () =>
          plugin.call('createContainer', {
            handle: await createContainer(),
            spec: { image: { type: 'host' } },
          }),
        'LOCAL_CONTAINER_EXISTS',
      ],
    ];
    for (const [name, attempt, code] of refusals) {
      it(name, async () => {
        await expect(attempt()).rejects.toMatchObject({ code });
      });
    }

    it('leaves nothing behind after a refused container', async () => {
      const before = await readdir(root);
      await expect(
        plugin.call('createContainer', {
          handle: 'refused-late',
          spec: {
            image: { type: 'host' },
            mounts: [
              { volume: await hostVolume(), destination: 'a' },
              { volume: await hostVolume(), destination: 'a/b' },
            ],
          },
        }),
      ).rejects.toMatchObject({ code: 'LOCAL_MOUNT_NESTED' });
      expect(await readdir(root)).toEqual(before);
      await expect(stat(join(root, 'refused-late'))).rejects.toMatchObject({ code: 'ENOENT' });
    });
  });
});
