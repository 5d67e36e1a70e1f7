import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { InterceptIo, TerminalSize } from '@conveyor/core/api';
import { applyTrackedChanges, finishBuild } from '@conveyor/core/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rejectionOf, type ServicesWorld, setPipeline, startWorld } from './helpers.js';

/*
 * ContainerService, VolumeService and InterceptService over real Postgres and the real local
 * runtime and naive volume driver. The containers and volumes are made as the executor makes
 * them: a row recorded `creating` (without labels, as the build runner records it), the plugin
 * asked with the build's labels, the row then `created`.
 */

let world: ServicesWorld;

const config = `jobs:
- name: unit
  plan:
  - task: compile
    config:
      platform: linux
      run: { path: sh, args: [-c, 'true'] }
  - in_parallel:
    - task: lint
      config:
        platform: linux
        run: { path: sh, args: [-c, 'true'] }
    - task: test
      config:
        platform: linux
        run: { path: sh, args: [-c, 'true'] }
`;
const unit = { team: 'main', pipeline: 'app', job: 'unit' };

const labelsOf = (buildId: number, planId: string, role: string): Record<string, string> => ({
  'conveyor.dev/owner': 'conveyor',
  'conveyor.dev/build': String(buildId),
  'conveyor.dev/step': planId,
  'conveyor.dev/role': role,
});

interface StepContainer {
  handle: string;
  /** The container's working directory, on the host. */
  workDir: string;
}

async function stepContainer(
  buildId: number,
  planId: string,
  files: Record<string, string> = {},
  env: Record<string, string> = {},
): Promise<StepContainer> {
  const handle = `b${buildId}-c-${randomBytes(4).toString('hex')}`;
  const dir = `/tmp/build/${randomBytes(2).toString('hex')}`;
  const change = { kind: 'container' as const, handle, plugin: 'local', worker: 'local', buildId };
  await applyTrackedChanges(world.pool, [{ ...change, state: 'creating' }]);
  await world.runtime.call('createContainer', {
    handle,
    spec: { image: { type: 'host' }, dir, env },
    labels: labelsOf(buildId, planId, 'task'),
  });
  await applyTrackedChanges(world.pool, [{ ...change, state: 'created' }]);
  const workDir = join(world.runtimeRoot, handle, 'workdir', dir);
  await mkdir(workDir, { recursive: true });
  for (const [name, content] of Object.entries(files)) await writeFile(join(workDir, name), content);
  return { handle, workDir };
}

async function stepVolume(buildId: number, planId: string, role: string, artifact?: string): Promise<string> {
  const handle = `b${buildId}-v-${randomBytes(4).toString('hex')}`;
  const change = { kind: 'volume' as const, handle, plugin: 'naive', worker: 'local', buildId };
  await applyTrackedChanges(world.pool, [{ ...change, state: 'creating' }]);
  const labels = labelsOf(buildId, planId, role);
  if (artifact !== undefined) labels['conveyor.dev/artifact'] = artifact;
  await world.volumes.call('createVolume', { handle, strategy: { type: 'empty' }, labels });
  await applyTrackedChanges(world.pool, [{ ...change, state: 'created' }]);
  return handle;
}

/** What an intercept client sends and receives, without a socket. */
function client(input: Array<Uint8Array | TerminalSize> = []) {
  const output: Array<[string, string]> = [];
  const gone = new AbortController();
  const io: InterceptIo = {
    input: (async function* () {
      yield* input;
    })(),
    onOutput: (stream, data) => output.push([stream, data]),
    signal: gone.signal,
  };
  const text = (stream: string) =>
    output
      .filter(([s]) => s === stream)
      .map(([, d]) => d)
      .join('');
  return { io, gone, text };
}

let jobBuild: number;
let compile: StepContainer;
let lint: StepContainer;
let test: StepContainer;

beforeAll(async () => {
  world = await startWorld();
  await setPipeline(world, 'app', config);
  jobBuild = (await world.services.jobs.trigger(unit, 'tester')).id;
  // The plan's ids: 1 the job's `do`, 2 compile, 3 the in_parallel, 4 lint, 5 test.
  compile = await stepContainer(jobBuild, '2', { marker: 'compiled\n' }, { GREETING: 'hello from the step' });
  lint = await stepContainer(jobBuild, '4');
  test = await stepContainer(jobBuild, '5');
});

afterAll(async () => {
  await world?.close();
});

describe('ContainerService.list', () => {
  it('names each container after its build and step, oldest first', async () => {
    const containers = await world.services.containers.list('main', {});
    const ofBuild = containers.filter((c) => c.build_id === jobBuild);
    expect(ofBuild.map((c) => [c.handle, c.plan_id, c.step_name, c.type])).toEqual([
      [compile.handle, '2', 'compile', 'task'],
      [lint.handle, '4', 'lint', 'task'],
      [test.handle, '5', 'test', 'task'],
    ]);
    expect(ofBuild[0]).toMatchObject({
      worker_name: 'local',
      runtime: 'local',
      state: 'created',
      team_name: 'main',
      pipeline_name: 'app',
      job_name: 'unit',
      build_name: '1',
      created_at: expect.any(Number),
    });
  });

  it('filters by pipeline, job, build name, build id, step name or plan id, and type', async () => {
    const handles = async (filter: Parameters<typeof world.services.containers.list>[1]) =>
      (await world.services.containers.list('main', filter)).map((c) => c.handle);
    expect(await handles({ pipeline: 'app', job: 'unit', build: '1', step: 'lint' })).toEqual([lint.handle]);
    expect(await handles({ buildId: jobBuild, step: '5' })).toEqual([test.handle]);
    expect(await handles({ pipeline: 'app', type: 'get' })).toEqual([]);
    expect(await handles({ pipeline: 'app', job: 'unit', build: '99' })).toEqual([]);
  });

  it('rejects what names nothing with its 404, and a job without its pipeline with a 400', async () => {
    expect((await rejectionOf(world.services.containers.list('nope', {}))).code).toBe(
      'CC_E_API_TEAM_NOT_FOUND',
    );
    expect((await rejectionOf(world.services.containers.list('main', { pipeline: 'x' }))).code).toBe(
      'CC_E_API_PIPELINE_NOT_FOUND',
    );
    expect(
      (await rejectionOf(world.services.containers.list('main', { pipeline: 'app', job: 'x' }))).code,
    ).toBe('CC_E_API_JOB_NOT_FOUND');
    const loose = await rejectionOf(world.services.containers.list('main', { job: 'unit' }));
    expect(loose.code).toBe('CC_E_API_BAD_REQUEST');
    expect(loose.details.field).toBe('querystring.job');
  });
});

describe('VolumeService.list', () => {
  it('names each volume after its build, step, role and artifact', async () => {
    const output = await stepVolume(jobBuild, '2', 'output', 'binary');
    const volumes = await world.services.volumes.list('main', { pipeline: 'app', type: 'output' });
    expect(volumes).toEqual([
      expect.objectContaining({
        handle: output,
        driver: 'naive',
        state: 'created',
        type: 'output',
        artifact: 'binary',
        build_id: jobBuild,
        plan_id: '2',
        step_name: 'compile',
      }),
    ]);
  });
});

describe('InterceptService', () => {
  it('runs a command in the step’s container, in its working directory with its env', async () => {
    const prepared = await world.services.intercept.prepare({
      buildId: jobBuild,
      step: 'compile',
      command: ['sh', '-c', 'cat marker; echo "$GREETING"; echo oops >&2; exit 7'],
      tty: false,
    });
    expect(prepared.container).toMatchObject({ handle: compile.handle, step_name: 'compile' });
    const { io, text } = client();
    expect(await prepared.run(io)).toEqual({ exitStatus: 7 });
    expect(text('stdout')).toBe('compiled\nhello from the step\n');
    expect(text('stderr')).toBe('oops\n');
  });

  it('feeds the process the client’s stdin, ending it when the client does', async () => {
    const prepared = await world.services.intercept.prepare({
      buildId: jobBuild,
      container: lint.handle,
      command: ['sh', '-c', 'cat > typed; wc -c < typed'],
      tty: false,
    });
    const { io, text } = client([Buffer.from('hello\n'), { columns: 80, rows: 24 }, Buffer.from('world\n')]);
    expect(await prepared.run(io)).toEqual({ exitStatus: 0 });
    expect(text('stdout').trim()).toBe('12');
  });

  it('stops the process when the client goes away, and leaves the step’s own process running', async () => {
    // The step's process, as the executor runs it.
    const step = world.runtime.call(
      'run',
      { handle: test.handle, processId: 'task', process: { path: 'sleep', args: ['300'] } },
      { timeoutMs: 600_000 },
    );
    let stepSettled = false;
    void step.finally(() => {
      stepSettled = true;
    });
    const prepared = await world.services.intercept.prepare({
      buildId: jobBuild,
      step: 'test',
      command: ['sleep', '300'],
      tty: false,
    });
    const { io, gone } = client();
    // An input that never ends, as an idle interactive client's.
    io.input = (async function* () {
      await new Promise<void>((resolve) => gone.signal.addEventListener('abort', () => resolve()));
    })();
    const running = prepared.run(io);
    gone.abort();
    expect(await running).toEqual({ exitStatus: 143, signal: 'SIGTERM' });
    expect(stepSettled).toBe(false);
    await world.runtime.call('signal', { handle: test.handle, processId: 'task', signal: 'SIGKILL' });
    expect((await step).exitStatus).toBe(137);
  });

  it('refuses a terminal on the local runtime, before it runs anything', async () => {
    const error = await rejectionOf(
      world.services.intercept.prepare({ buildId: jobBuild, step: 'compile', command: ['sh'], tty: true }),
    );
    expect(error.code).toBe('CC_E_API_TTY_UNSUPPORTED');
    expect(error.status).toBe(422);
    expect(error.message).toContain('the runtime "local" cannot give a process a terminal');
    expect(error.message).toContain('containerd');
  });

  it('asks which container when several match, and says when none does', async () => {
    const several = await rejectionOf(
      world.services.intercept.prepare({ buildId: jobBuild, command: ['sh'], tty: false }),
    );
    expect(several.code).toBe('CC_E_API_INTERCEPT_AMBIGUOUS');
    expect(several.details.containers).toEqual([
      { handle: compile.handle, plan_id: '2', step_name: 'compile', type: 'task' },
      { handle: lint.handle, plan_id: '4', step_name: 'lint', type: 'task' },
      { handle: test.handle, plan_id: '5', step_name: 'test', type: 'task' },
    ]);
    const none = await rejectionOf(
      world.services.intercept.prepare({ buildId: jobBuild, step: 'deploy', command: ['sh'], tty: false }),
    );
    expect(none.code).toBe('CC_E_API_CONTAINER_NOT_FOUND');
    expect(none.message).toContain('step "deploy"');
    expect(
      (await rejectionOf(world.services.intercept.prepare({ buildId: 99_999, command: ['sh'], tty: false })))
        .code,
    ).toBe('CC_E_API_BUILD_NOT_FOUND');
  });

  it('names a one-off build’s step from its stored plan, and says when its build is over', async () => {
    const build = await world.services.oneOffBuilds.create(
      'main',
      { config: { platform: 'linux', run: { path: 'true' } }, inputs: [], outputs: [] },
      'tester',
    );
    const { rows } = await world.pool.query<{ plan: { root: { id: string } } }>(
      'SELECT plan FROM builds WHERE id = $1',
      [build.id],
    );
    const planId = rows[0]?.plan.root.id ?? '';
    const container = await stepContainer(build.id, planId);
    const [listed] = await world.services.containers.list('main', { buildId: build.id });
    expect(listed).toMatchObject({ handle: container.handle, step_name: 'one-off', type: 'task' });
    expect(listed?.pipeline_name).toBeUndefined();

    await world.runtime.call('destroyContainer', { handle: container.handle });
    await applyTrackedChanges(world.pool, [
      {
        kind: 'container',
        handle: container.handle,
        state: 'gone',
        plugin: 'local',
        worker: 'local',
        buildId: build.id,
      },
    ]);
    await finishBuild(world.pool, build.id, 'failed');
    const gone = await rejectionOf(
      world.services.intercept.prepare({ buildId: build.id, command: ['sh'], tty: false }),
    );
    expect(gone.code).toBe('CC_E_API_CONTAINER_NOT_FOUND');
    expect(gone.message).toContain('the build has failed');
  });
});
