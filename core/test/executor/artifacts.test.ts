import { mkdir, writeFile } from 'node:fs/promises';
import { isConveyorError } from '@conveyor/core/errors';
import { readVolumeFile } from '@conveyor/core/executor';
import type { PlanStep } from '@conveyor/core/plan';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  doStep,
  errorsOf,
  finishOf,
  getStep,
  type Harness,
  leftovers,
  logOf,
  type RunOptions,
  runPlan,
  startHarness,
  taskStep,
} from './helpers.js';

let harness: Harness;

beforeAll(async () => {
  harness = await startHarness();
});

afterAll(async () => {
  await harness?.close();
});

afterEach(async () => {
  // Every build cleans up after itself, whatever its result.
  expect(await leftovers(harness)).toEqual({ containers: [], volumes: [] });
});

describe('artifacts flow from step to step', () => {
  it('gets a resource, a task reads it and writes an output, a second task consumes the output', async () => {
    const build = await runPlan(
      harness,
      doStep(
        'plan',
        getStep(
          'get-repo',
          'repo',
          { create_files: { 'hello.txt': 'hello from the mock' } },
          { version: { version: 'v1' } },
        ),
        taskStep('make', 'cat repo/version repo/hello.txt > out/made.txt && echo made', {
          inputs: [{ name: 'repo' }],
          outputs: [{ name: 'out' }],
        }),
        taskStep('use', 'cat built/made.txt', {
          inputs: [{ name: 'built' }],
          step: { inputMapping: { built: 'out' } },
        }),
      ),
    );
    expect(build.result).toBe('succeeded');
    expect(errorsOf(build.events)).toEqual([]);
    expect(logOf(build.events, 'make', 'stdout')).toBe('made\n');
    expect(logOf(build.events, 'use', 'stdout')).toBe('v1\nhello from the mock');
    expect(finishOf(build.events, 'get-repo')).toMatchObject({ succeeded: true, version: { version: 'v1' } });
    expect(finishOf(build.events, 'use')).toMatchObject({ succeeded: true, exit_status: 0 });
    const order = build.events.map((e) => `${e.event}:${'origin' in e.data ? e.data.origin?.id : ''}`);
    expect(order.filter((e) => !e.startsWith('log:'))).toEqual([
      'initialize-get:get-repo',
      'start-get:get-repo',
      'finish-get:get-repo',
      'initialize-task:make',
      'start-task:make',
      'finish-task:make',
      'initialize-task:use',
      'start-task:use',
      'finish-task:use',
    ]);
  });

  it('tracks every container and volume through creating, created, destroying and gone', async () => {
    const build = await runPlan(
      harness,
      doStep(
        'plan',
        getStep('get', 'repo', {}, { version: { version: 'v1' } }),
        taskStep('task', 'true', { inputs: [{ name: 'repo' }], outputs: [{ name: 'out' }] }),
      ),
    );
    expect(build.result).toBe('succeeded');
    const byHandle = new Map<string, string[]>();
    for (const t of build.tracked)
      byHandle.set(`${t.kind}:${t.handle}`, [...(byHandle.get(`${t.kind}:${t.handle}`) ?? []), t.state]);
    // The get's volume, the task's input child and output volume, and its container.
    expect([...byHandle.keys()].filter((k) => k.startsWith('volume:'))).toHaveLength(3);
    expect([...byHandle.keys()].filter((k) => k.startsWith('container:'))).toHaveLength(1);
    for (const states of byHandle.values())
      expect(states).toEqual(['creating', 'created', 'destroying', 'gone']);
  });

  it('keeps what the caller asks it to keep, still recorded as created', async () => {
    const build = await runPlan(harness, taskStep('kept', 'echo hi'), {
      keep: (r) => r.kind === 'container',
    });
    expect(build.result).toBe('succeeded');
    const states = build.tracked.filter((t) => t.kind === 'container').map((t) => t.state);
    expect(states).toEqual(['creating', 'created']);
    const { containers } = await harness.runtime.call('listContainers', {});
    expect(containers).toHaveLength(1);
    await harness.runtime.call('destroyContainer', { handle: containers[0]!.handle });
  });

  it('never lets a task alter an artifact: its inputs are copies', async () => {
    const build = await runPlan(
      harness,
      doStep(
        'plan',
        getStep('get', 'repo', {}, { version: { version: 'original' } }),
        taskStep('vandal', 'echo changed > repo/version && rm -f repo/privileged && touch repo/new', {
          inputs: [{ name: 'repo' }],
        }),
        taskStep('check', 'cat repo/version; ls repo', { inputs: [{ name: 'repo' }] }),
      ),
    );
    expect(build.result).toBe('succeeded');
    expect(logOf(build.events, 'check', 'stdout')).toBe('original\nprivileged\nversion\n');
  });

  it('mounts inputs and outputs at their paths, and an output at an input path carries the input on', async () => {
    const build = await runPlan(
      harness,
      doStep(
        'plan',
        getStep('get', 'repo', {}, { version: { version: 'v7' } }),
        taskStep('edit', 'echo more >> src/version', {
          inputs: [{ name: 'repo', path: 'src' }],
          outputs: [{ name: 'edited', path: 'src' }],
        }),
        taskStep('show', 'cat nested/dir/version', { inputs: [{ name: 'edited', path: 'nested/dir' }] }),
      ),
    );
    expect(build.result).toBe('succeeded');
    expect(logOf(build.events, 'show', 'stdout')).toBe('v7\nmore\n');
  });

  it('errors a task whose required input is missing, naming it, but not for an optional one', async () => {
    const build = await runPlan(
      harness,
      doStep(
        'plan',
        taskStep('optional', 'test ! -e maybe && echo fine', { inputs: [{ name: 'maybe', optional: true }] }),
        taskStep('needy', 'true', { inputs: [{ name: 'source-code' }, { name: 'other' }] }),
      ),
    );
    expect(build.result).toBe('errored');
    expect(logOf(build.events, 'optional', 'stdout')).toBe('fine\n');
    const [message] = errorsOf(build.events, 'needy');
    expect(message).toContain('task "needy"');
    expect(message).toContain('missing inputs: source-code, other');
  });

  it('errors a task with an invalid config, listing every problem', async () => {
    const build = await runPlan(harness, {
      id: 'bad',
      type: 'task',
      name: 'bad',
      config: { inputs: [{ path: 'x' }], run: {} },
    });
    expect(build.result).toBe('errored');
    const [message] = errorsOf(build.events, 'bad');
    expect(message).toContain("missing 'platform'");
    expect(message).toContain('missing path to executable to run');
    expect(message).toContain('input in position 0 is missing a name');
  });
});

describe('task processes', () => {
  it('passes params as environment, step params over config params, non-strings as JSON', async () => {
    const build = await runPlan(
      harness,
      taskStep('env', 'echo "$A|$B|$N|$T|$O|$L|$Z|$S"', {
        configParams: { A: 'from-config', B: 'kept', Z: null },
        params: { A: 'from-step', N: 42, T: true, O: { b: 1, a: 'x' }, L: [1, 'two'], S: '((secret))' },
      }),
      { creds: { secret: 'hunter2-very-secret' } },
    );
    expect(build.result).toBe('succeeded');
    expect(logOf(build.events, 'env', 'stdout')).toBe(
      'from-step|kept|42|true|{"a":"x","b":1}|[1,"two"]||((redacted))\n',
    );
    const init = build.events.find((e) => e.event === 'initialize-task');
    expect(JSON.stringify(init)).not.toContain('hunter2');
  });

  it('fails on a non-zero exit, with the exit status, and streams stderr apart from stdout', async () => {
    const build = await runPlan(harness, taskStep('exit', 'echo out; echo err >&2; exit 3'));
    expect(build.result).toBe('failed');
    expect(finishOf(build.events, 'exit')).toMatchObject({ succeeded: false, exit_status: 3 });
    expect(logOf(build.events, 'exit', 'stdout')).toBe('out\n');
    expect(logOf(build.events, 'exit', 'stderr')).toBe('err\n');
    expect(errorsOf(build.events)).toEqual([]);
  });

  it('runs run.dir, run.args and a task file from an artifact with its vars', async () => {
    // The file holds ((vars)); written as <<vars>> and turned into them by a task, so that the
    // get's own source (interpolated like any step's) does not resolve them first.
    const template = [
      'platform: linux',
      'inputs: [{name: repo}]',
      'params: {GREETING: <<greeting>>, WHO: <<who>>}',
      'run:',
      '  path: sh',
      '  dir: repo',
      '  args: [-c, "echo $GREETING $WHO; cat version"]',
    ].join('\n');
    const build = await runPlan(
      harness,
      doStep(
        'plan',
        getStep('get', 'repo', { create_files: { 'ci/task.tpl': template } }, { version: { version: 'v3' } }),
        taskStep('render', "tr '<>' '()' < repo/ci/task.tpl > ci/task.yml", {
          inputs: [{ name: 'repo' }],
          outputs: [{ name: 'ci' }],
        }),
        {
          id: 'file-task',
          type: 'task',
          name: 'file-task',
          file: 'ci/task.yml',
          vars: { greeting: 'hello' },
        },
      ),
      { creds: { who: 'world' } },
    );
    expect(errorsOf(build.events)).toEqual([]);
    expect(build.result).toBe('succeeded');
    expect(logOf(build.events, 'file-task', 'stdout')).toBe('hello ((redacted))\nv3\n');
  });

  it('errors when the task file names an artifact the build does not have', async () => {
    const build = await runPlan(harness, { id: 't', type: 'task', name: 't', file: 'nowhere/task.yml' });
    expect(build.result).toBe('errored');
    expect(errorsOf(build.events, 't')[0]).toContain('artifact "nowhere", which this build does not have');
  });

  it('errors with the missing var when interpolation fails', async () => {
    const build = await runPlan(harness, taskStep('t', 'true', { params: { X: '((nope))' } }));
    expect(build.result).toBe('errored');
    expect(errorsOf(build.events, 't')[0]).toMatch(/task "t".*undefined var: nope/);
  });
});

describe('task images and platforms', () => {
  /** The local runtime, claiming isolation the way a containerd runtime's info would. */
  const isolating = (): RunOptions['deps'] => ({
    runtime: {
      ...harness.runtime,
      call: (async (method: string, request: unknown, options: unknown) =>
        method === 'info'
          ? {
              platform: 'linux',
              capabilities: { isolation: true, privileged: true, tty: false, reattach: false },
            }
          : (harness.runtime.call as (m: string, r: unknown, o: unknown) => Promise<unknown>)(
              method,
              request,
              options,
            )) as typeof harness.runtime.call,
    },
  });

  it('errors a task without an image on a runtime that isolates', async () => {
    const build = await runPlan(harness, taskStep('t', 'true'), { deps: isolating() });
    expect(build.result).toBe('errored');
    expect(errorsOf(build.events, 't')[0]).toContain('has no image');
  });

  it('fetches the image_resource into a volume and gives it to the runtime as a volume image', async () => {
    const step = taskStep('t', 'true');
    step.config = { ...step.config, image_resource: { type: 'mock', source: { mirror_self: true } } };
    const build = await runPlan(harness, step, { deps: isolating() });
    // The local runtime itself cannot run images: its refusal shows what it was given.
    expect(build.result).toBe('errored');
    expect(errorsOf(build.events, 't')[0]).toContain('cannot run images (got a volume image)');
    expect(logOf(build.events, 't', 'stderr')).toContain('mirroring self image');
  });

  it('errors a task for another platform than the runtime runs', async () => {
    const step = taskStep('t', 'true');
    step.config = { ...step.config, platform: 'windows' };
    const build = await runPlan(harness, step);
    expect(build.result).toBe('errored');
    expect(errorsOf(build.events, 't')[0]).toContain(
      'runs on platform windows, but the runtime local@1.0.0 runs linux',
    );
  });
});

describe('the caller', () => {
  it('errors the build, without an unhandled rejection, when an event cannot be stored', async () => {
    const build = await runPlan(harness, doStep('plan', taskStep('a', 'echo a'), taskStep('b', 'echo b')), {
      deps: {
        emit: async (event) => {
          if (event.event === 'finish-task') throw new Error('database is down');
        },
      },
    });
    expect(build.result).toBe('errored');
  });

  it('redacts a secret even when the process writes it in pieces', async () => {
    const build = await runPlan(
      harness,
      taskStep('t', `echo "$S" | cut -c1-5 | tr -d '\\n'; sleep 0.2; echo "$S" | cut -c6-`, {
        params: { S: '((secret))' },
      }),
      { creds: { secret: 'first-second' } },
    );
    expect(build.result).toBe('succeeded');
    expect(logOf(build.events, 't')).toBe('((redacted))\n');
  });
});

describe('put', () => {
  it('puts from the artifacts it detects, and the implicit get fetches the version it made', async () => {
    const plan: PlanStep = doStep(
      'plan',
      taskStep('bump', 'echo 2.0.0 > out/number', { outputs: [{ name: 'out' }] }),
      {
        id: 'put',
        type: 'put',
        name: 'release',
        resource: 'release',
        resourceType: 'mock',
        source: {},
        params: { file: 'out/number' },
        inputs: 'detect',
      },
      getStep('put-get', 'release', {}, { fromPut: 'put' }),
      taskStep('after', 'cat release/version', { inputs: [{ name: 'release' }] }),
    );
    const build = await runPlan(harness, plan);
    expect(errorsOf(build.events)).toEqual([]);
    expect(build.result).toBe('succeeded');
    expect(finishOf(build.events, 'put')).toMatchObject({ succeeded: true, version: { version: '2.0.0' } });
    expect(logOf(build.events, 'after', 'stdout')).toBe('2.0.0\n');
    expect(logOf(build.events, 'put', 'stderr')).toContain('pushing version: 2.0.0');
  });

  it('errors a put whose listed input does not exist', async () => {
    const build = await runPlan(harness, {
      id: 'put',
      type: 'put',
      name: 'r',
      resource: 'r',
      resourceType: 'mock',
      source: {},
      params: { version: '1' },
      inputs: ['ghost'],
    });
    expect(build.result).toBe('errored');
    expect(errorsOf(build.events, 'put')[0]).toContain('input not found: ghost');
  });

  it('errors a get whose resource has no version, and a source the resource type rejects', async () => {
    const none = await runPlan(harness, getStep('get', 'r', { no_initial_version: true }));
    expect(none.result).toBe('errored');
    expect(errorsOf(none.events, 'get')[0]).toContain('has no version to fetch');
    const bad = await runPlan(
      harness,
      getStep('get', 'r', { initial_version: 5 }, { version: { version: '1' } }),
    );
    expect(bad.result).toBe('errored');
    expect(errorsOf(bad.events, 'get')[0]).toContain('source.initial_version must be string');
  });

  it('gets the latest version when the plan names none', async () => {
    const build = await runPlan(harness, getStep('get', 'r', { initial_version: 'first' }));
    expect(build.result).toBe('succeeded');
    expect(finishOf(build.events, 'get')).toMatchObject({ version: { version: 'first' } });
  });
});

describe('load_var', () => {
  const files = {
    'vars.json': '{"user": "admin", "password": "s3cr3t-pass"}',
    'plain.txt': '  padded value  \n',
    'list.yml': '- a\n- b\n',
  };

  it('loads json, trims text, parses yaml; redacts unless revealed; sets local vars', async () => {
    const build = await runPlan(
      harness,
      doStep(
        'plan',
        getStep('get', 'res', { create_files: files }, { version: { version: '1' } }),
        { id: 'json', type: 'load_var', name: 'creds', file: 'res/vars.json' },
        { id: 'text', type: 'load_var', name: 'text', file: 'res/plain.txt', reveal: true },
        { id: 'raw', type: 'load_var', name: 'raw', file: 'res/plain.txt', format: 'raw', reveal: true },
        { id: 'list', type: 'load_var', name: 'list', file: 'res/list.yml', reveal: true },
        taskStep('show', 'echo "$U $P [$T] [$R] $L"', {
          params: {
            U: '((.:creds.user))',
            P: '((.:creds.password))',
            T: '((.:text))',
            R: '((.:raw))',
            L: '((.:list))',
          },
        }),
      ),
    );
    expect(errorsOf(build.events)).toEqual([]);
    expect(build.result).toBe('succeeded');
    expect(logOf(build.events, 'show', 'stdout')).toBe(
      '((redacted)) ((redacted)) [padded value] [  padded value  \n] ["a","b"]\n',
    );
    expect(logOf(build.events, 'json', 'stdout')).toBe('var creds fetched.\nadded var creds to build.\n');
    expect(finishOf(build.events, 'json')).toMatchObject({ succeeded: true });
  });

  it('errors on a file that does not parse in its format, without quoting it', async () => {
    const build = await runPlan(
      harness,
      doStep(
        'plan',
        getStep(
          'get',
          'res',
          { create_files: { 'bad.json': '{"token": "abc-secret' } },
          { version: { version: '1' } },
        ),
        { id: 'lv', type: 'load_var', name: 'v', file: 'res/bad.json' },
      ),
    );
    expect(build.result).toBe('errored');
    const [message] = errorsOf(build.events, 'lv');
    expect(message).toContain('res/bad.json is not valid json');
    expect(message).not.toContain('abc-secret');
  });

  it('errors on a missing file', async () => {
    const build = await runPlan(
      harness,
      doStep('plan', getStep('get', 'res', {}, { version: { version: '1' } }), {
        id: 'lv',
        type: 'load_var',
        name: 'v',
        file: 'res/none.txt',
      }),
    );
    expect(build.result).toBe('errored');
    expect(errorsOf(build.events, 'lv')[0]).toContain(
      'cannot read "none.txt" from artifact "res": no such file',
    );
  });
});

describe('set_pipeline', () => {
  it('reads the config and var files from artifacts and sets the pipeline, self being the build’s own', async () => {
    const build = await runPlan(
      harness,
      doStep(
        'plan',
        getStep(
          'get',
          'ci',
          {
            create_files: {
              'pipeline.yml': 'jobs: []\n',
              'a.yml': 'x: from-a\ny: from-a\n',
              'b.yml': 'x: from-b\nz: from-b\n',
            },
          },
          { version: { version: '1' } },
        ),
        {
          id: 'sp',
          type: 'set_pipeline',
          name: 'other',
          file: 'ci/pipeline.yml',
          varFiles: ['ci/a.yml', 'ci/b.yml'],
          vars: { y: 'from-vars' },
          team: 'team-b',
        },
        { id: 'self', type: 'set_pipeline', name: 'self', file: 'ci/pipeline.yml', team: 'ignored' },
      ),
      { pipeline: 'mine', setPipeline: async (request) => ({ changed: request.name === 'other' }) },
    );
    expect(errorsOf(build.events)).toEqual([]);
    expect(build.result).toBe('succeeded');
    expect(build.setPipelineCalls).toEqual([
      {
        name: 'other',
        team: 'team-b',
        configText: 'jobs: []\n',
        vars: { x: 'from-a', y: 'from-vars', z: 'from-b' },
      },
      { name: 'mine', configText: 'jobs: []\n', vars: {} },
    ]);
    expect(logOf(build.events, 'sp', 'stdout')).toBe('setting pipeline: other\ndone\n');
    expect(logOf(build.events, 'self', 'stdout')).toBe('no changes to apply.\n');
  });

  it('errors set_pipeline self in a build of no pipeline', async () => {
    const build = await runPlan(harness, { id: 'sp', type: 'set_pipeline', name: 'self', file: 'x/p.yml' });
    expect(build.result).toBe('errored');
    expect(errorsOf(build.events, 'sp')[0]).toContain('belongs to no pipeline');
  });
});

describe('readVolumeFile', () => {
  it('reads a file through the driver when the volume is not on this host', async () => {
    const { volume } = await harness.volumes.call('createVolume', {
      handle: 'read-test',
      strategy: { type: 'empty' },
    });
    try {
      // Write a file on the host, then read it back both directly and as if the volume were remote.
      if (volume.volume.location.type !== 'host-path') throw new Error('naive volumes are host paths');
      await mkdir(`${volume.volume.location.path}/dir`);
      await writeFile(`${volume.volume.location.path}/dir/file.txt`, 'streamed content');
      const remote = {
        ...volume.volume,
        location: { type: 'worker' as const, worker: 'elsewhere', path: '/x' },
      };
      expect((await readVolumeFile(harness.volumes, remote, 'dir/file.txt')).toString()).toBe(
        'streamed content',
      );
      expect((await readVolumeFile(harness.volumes, volume.volume, 'dir/file.txt')).toString()).toBe(
        'streamed content',
      );
      for (const ref of [remote, volume.volume]) {
        const error = await readVolumeFile(harness.volumes, ref, 'dir').catch((e: unknown) => e);
        expect(isConveyorError(error, 'CC_E_EXEC_FILE_UNREADABLE')).toBe(true);
        const missing = await readVolumeFile(harness.volumes, ref, 'nope.txt').catch((e: unknown) => e);
        expect(isConveyorError(missing, 'CC_E_EXEC_FILE_UNREADABLE')).toBe(true);
      }
      const outside = await readVolumeFile(harness.volumes, volume.volume, '../../etc/passwd').catch(
        (e: unknown) => e,
      );
      expect(isConveyorError(outside, 'CC_E_EXEC_FILE_UNREADABLE')).toBe(true);
    } finally {
      await harness.volumes.call('destroyVolume', { handle: 'read-test' });
    }
  });

  it('refuses a symbolic link that leads out of the volume', async () => {
    const build = await runPlan(
      harness,
      doStep('plan', taskStep('plant', 'ln -s /etc/hostname out/secret', { outputs: [{ name: 'out' }] }), {
        id: 'lv',
        type: 'load_var',
        name: 'v',
        file: 'out/secret',
        reveal: true,
      }),
    );
    expect(build.result).toBe('errored');
    expect(errorsOf(build.events, 'lv')[0]).toContain('leads out of the volume');
  });
});
