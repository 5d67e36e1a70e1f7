import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { CreateBuildRequest } from '@conveyor/core/api';
import { claimStartableBuild, finishBuild, listVolumeRecords } from '@conveyor/core/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rejectionOf, type ServicesWorld, startWorld, tarOf, untar } from './helpers.js';

let world: ServicesWorld;
let scratch: string;

beforeAll(async () => {
  world = await startWorld();
  scratch = await mkdtemp(join(tmpdir(), 'conveyor-one-off-'));
});

afterAll(async () => {
  await world?.close();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

const signal = () => new AbortController().signal;

const taskConfig = {
  platform: 'linux',
  inputs: [{ name: 'src' }, { name: 'ci' }, { name: 'cache', optional: true }],
  outputs: [{ name: 'out' }, { name: 'report' }],
  run: { path: 'sh', args: ['-c', 'true'] },
};

const request: CreateBuildRequest = { config: taskConfig, inputs: ['src', 'ci'], outputs: ['out'] };

/** A directory with these files (path → content), made fresh under the scratch dir. */
async function directory(name: string, files: Record<string, string>): Promise<string> {
  const dir = join(scratch, name);
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(dir, path, '..'), { recursive: true });
    await writeFile(join(dir, path), content);
  }
  return dir;
}

/** What a volume holds, read back through the driver as a tar stream. */
async function volumeFile(handle: string, path: string): Promise<string> {
  const into = await mkdtemp(join(scratch, 'read-'));
  const tar = new Readable({ read() {} });
  const done = world.volumes.call('streamOut', { handle }, { onData: (chunk) => tar.push(chunk) });
  const extracted = untar(tar, into);
  await done;
  tar.push(null);
  await extracted;
  return readFile(join(into, path), 'utf8');
}

async function inputVolumes(buildId: number, name: string) {
  const rows = await listVolumeRecords(world.pool, { buildId });
  return rows.filter(
    (row) => row.labels['conveyor.dev/role'] === 'input' && row.labels['conveyor.dev/artifact'] === name,
  );
}

describe('OneOffBuildService.create', () => {
  it('rejects an invalid task config and inputs or outputs the task does not have', async () => {
    const { oneOffBuilds } = world.services;
    const noRun = await rejectionOf(
      oneOffBuilds.create('main', { config: { platform: 'linux', run: {} }, inputs: [], outputs: [] }, 'kim'),
    );
    expect(noRun.code).toBe('CC_E_API_BAD_REQUEST');
    expect(noRun.status).toBe(400);
    expect(noRun.details.problems).toEqual([{ path: 'config.run.path', message: 'is required' }]);
    expect(noRun.message).toContain('config.run.path is required');

    const extra = await rejectionOf(
      oneOffBuilds.create('main', { ...request, inputs: ['src', 'ci', 'docs'] }, 'kim'),
    );
    expect(extra.code).toBe('CC_E_API_BAD_REQUEST');
    expect(extra.details.problems).toEqual([expect.objectContaining({ path: 'inputs[2]' })]);

    const lacking = await rejectionOf(oneOffBuilds.create('main', { ...request, inputs: ['src'] }, 'kim'));
    expect(lacking.message).toContain('"ci"');

    const output = await rejectionOf(oneOffBuilds.create('main', { ...request, outputs: ['nope'] }, 'kim'));
    expect(output.details.problems).toEqual([expect.objectContaining({ path: 'outputs[0]' })]);

    const team = await rejectionOf(oneOffBuilds.create('ghosts', request, 'kim'));
    expect(team.code).toBe('CC_E_API_TEAM_NOT_FOUND');
  });
});

describe('OneOffBuildService', () => {
  it('holds a build until its inputs are uploaded and it is started, then releases it to the runner', async () => {
    const { oneOffBuilds, builds } = world.services;
    const created = await oneOffBuilds.create('main', request, 'kim');
    expect(created).toEqual({
      id: created.id,
      name: String(created.id),
      status: 'pending',
      team_name: 'main',
      created_by: 'kim',
      pending_inputs: ['src', 'ci'],
    });
    // The build runner's claim passes it by while it waits for uploads.
    expect(await claimStartableBuild(world.pool, 'runner', 30_000)).toBeNull();

    const src = await directory('src', { 'main.sh': 'echo hello\n', 'lib/util.sh': 'util\n' });
    const afterSrc = await oneOffBuilds.uploadInput(created.id, 'src', tarOf(src), { signal: signal() });
    expect(afterSrc.pending_inputs).toEqual(['ci']);
    expect((await builds.get(created.id)).pending_inputs).toEqual(['ci']);

    const [volume] = await inputVolumes(created.id, 'src');
    expect(volume).toMatchObject({
      state: 'created',
      driver: 'naive',
      labels: {
        'conveyor.dev/owner': 'conveyor',
        'conveyor.dev/build': String(created.id),
        'conveyor.dev/artifact': 'src',
        'conveyor.dev/role': 'input',
      },
    });
    expect(volume!.handle).toMatch(new RegExp(`^build-${created.id}-input-src-`));
    expect(await volumeFile(volume!.handle, 'main.sh')).toBe('echo hello\n');
    expect(await volumeFile(volume!.handle, 'lib/util.sh')).toBe('util\n');

    const missing = await rejectionOf(oneOffBuilds.start(created.id, 'kim'));
    expect(missing.code).toBe('CC_E_API_BUILD_INPUTS_MISSING');
    expect(missing.details.missing).toEqual(['ci']);
    expect(await claimStartableBuild(world.pool, 'runner', 30_000)).toBeNull();

    // Uploading again replaces the input: one volume, the new content.
    await oneOffBuilds.uploadInput(created.id, 'ci', tarOf(await directory('ci-1', { 'task.yml': 'one' })), {
      signal: signal(),
    });
    await oneOffBuilds.uploadInput(created.id, 'ci', tarOf(await directory('ci-2', { 'task.yml': 'two' })), {
      signal: signal(),
    });
    const ci = await inputVolumes(created.id, 'ci');
    expect(ci).toHaveLength(1);
    expect(await volumeFile(ci[0]!.handle, 'task.yml')).toBe('two');
    const { volumes: listed } = await world.volumes.call('listVolumes', {
      labels: { 'conveyor.dev/build': String(created.id), 'conveyor.dev/artifact': 'ci' },
    });
    expect(listed.map((info) => info.volume.handle)).toEqual([ci[0]!.handle]);

    const started = await oneOffBuilds.start(created.id, 'kim');
    expect(started).toMatchObject({ status: 'pending', pending_inputs: [] });
    const late = await rejectionOf(
      oneOffBuilds.uploadInput(created.id, 'src', tarOf(src), { signal: signal() }),
    );
    expect(late.code).toBe('CC_E_API_BUILD_NOT_PENDING');

    // Now the runner claims it, with the task plan.
    const claimed = await claimStartableBuild(world.pool, 'runner', 30_000);
    expect(claimed?.id).toBe(created.id);
    expect(claimed?.plan).toEqual({
      schemaVersion: 1,
      root: {
        id: 'task',
        type: 'task',
        name: 'one-off',
        config: taskConfig,
        privileged: false,
        inputMapping: { src: 'src', ci: 'ci' },
        outputMapping: { out: 'out' },
      },
    });
    const again = await rejectionOf(oneOffBuilds.start(created.id, 'kim'));
    expect(again.code).toBe('CC_E_API_BUILD_NOT_PENDING');
    expect(again.details.status).toBe('started');
    const { pending_inputs: _, ...running } = started;
    expect(await builds.get(created.id)).toMatchObject({ ...running, status: 'started' });
    expect(await builds.get(created.id)).not.toHaveProperty('pending_inputs');
  });

  it('rejects an undeclared input, and discards an upload whose stream fails', async () => {
    const { oneOffBuilds } = world.services;
    const build = await oneOffBuilds.create('main', request, 'kim');
    const unknown = await rejectionOf(
      oneOffBuilds.uploadInput(build.id, 'docs', Readable.from([Buffer.from('x')]), { signal: signal() }),
    );
    expect(unknown.code).toBe('CC_E_API_BUILD_INPUT_UNKNOWN');
    expect(unknown.details.declared).toEqual(['src', 'ci']);

    // The client goes away half way through (or the size limit trips): the stream errors.
    const cut = new Error('the client went away');
    async function* halfATar() {
      yield Buffer.alloc(1024, 1);
      throw cut;
    }
    const failed = await oneOffBuilds
      .uploadInput(build.id, 'src', Readable.from(halfATar()), { signal: signal() })
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(failed).toBe(cut);
    expect(await inputVolumes(build.id, 'src')).toEqual([]);
    const { volumes: left } = await world.volumes.call('listVolumes', {
      labels: { 'conveyor.dev/build': String(build.id) },
    });
    expect(left).toEqual([]);
    expect((await world.services.builds.get(build.id)).pending_inputs).toEqual(['src', 'ci']);

    // A held build can be aborted like any pending one.
    expect(await world.services.builds.abort(build.id, 'kim')).toMatchObject({ status: 'aborted' });
    const aborted = await rejectionOf(oneOffBuilds.start(build.id, 'kim'));
    expect(aborted.code).toBe('CC_E_API_BUILD_NOT_PENDING');
  });

  it('serves a finished build’s output volume as a tar stream', async () => {
    const { oneOffBuilds } = world.services;
    const build = await oneOffBuilds.create('main', { ...request, outputs: ['out', 'report'] }, 'kim');
    for (const name of ['src', 'ci']) {
      await oneOffBuilds.uploadInput(build.id, name, tarOf(await directory(`in-${name}`, { a: name })), {
        signal: signal(),
      });
    }
    await oneOffBuilds.start(build.id, 'kim');
    const early = await rejectionOf(oneOffBuilds.downloadOutput(build.id, 'out', { signal: signal() }));
    expect(early.code).toBe('CC_E_API_BUILD_NOT_FINISHED');

    // What the build runner leaves behind: the task's output volume, labelled and kept.
    const handle = `b${build.id}-v-output`;
    const labels = {
      'conveyor.dev/owner': 'conveyor',
      'conveyor.dev/build': String(build.id),
      'conveyor.dev/role': 'output',
      'conveyor.dev/artifact': 'out',
    };
    await world.volumes.call('createVolume', { handle, strategy: { type: 'empty' }, labels });
    const produced = await directory('produced', { 'result.txt': 'built\n', 'bin/app': 'binary' });
    await world.volumes.call('streamIn', { handle }, { input: tarOf(produced) });
    await finishBuild(world.pool, build.id, 'succeeded');

    const tar = await oneOffBuilds.downloadOutput(build.id, 'out', { signal: signal() });
    const into = await mkdtemp(join(scratch, 'download-'));
    await untar(tar, into);
    expect(await readFile(join(into, 'result.txt'), 'utf8')).toBe('built\n');
    expect(await readFile(join(into, 'bin/app'), 'utf8')).toBe('binary');

    // Declared but not produced, and not declared at all.
    for (const name of ['report', 'nope']) {
      const error = await rejectionOf(oneOffBuilds.downloadOutput(build.id, name, { signal: signal() }));
      expect(error.code).toBe('CC_E_API_BUILD_OUTPUT_NOT_FOUND');
    }
  });
});
