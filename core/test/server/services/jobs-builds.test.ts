import { setTimeout as sleep } from 'node:timers/promises';
import type { BuildEventRecord } from '@conveyor/core/api';
import { finishBuild } from '@conveyor/core/db';
import { appendEvents } from '@conveyor/core/events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rejectionOf, type ServicesWorld, setPipeline, startWorld } from './helpers.js';

let world: ServicesWorld;

const config = `resources:
- name: repo
  type: mock
  source: {initial_version: v1}

jobs:
- name: unit
  plan:
  - get: repo
    trigger: true
- name: ship
  plan:
  - get: repo
    passed: [unit]
  - put: repo
- name: locked
  disable_manual_trigger: true
  plan:
  - get: repo

groups:
- name: release
  jobs: [unit, ship]
- name: other
  jobs: [locked]
`;

const pipeline = { team: 'main', pipeline: 'app' };
const unit = { ...pipeline, job: 'unit' };

beforeAll(async () => {
  world = await startWorld();
  await setPipeline(world, 'app', config);
});

afterAll(async () => {
  await world?.close();
});

/** Polls `probe` until it answers true; fails after a generous while. */
async function eventually(probe: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await probe()) return;
    await sleep(25);
  }
  throw new Error('the condition never came true');
}

describe('JobService', () => {
  it('lists the jobs in config order with their inputs, outputs and groups', async () => {
    const jobs = await world.services.jobs.list(pipeline);
    expect(jobs.map((job) => job.name)).toEqual(['unit', 'ship', 'locked']);
    expect(jobs[1]).toMatchObject({
      name: 'ship',
      team_name: 'main',
      pipeline_name: 'app',
      paused: false,
      disable_manual_trigger: false,
      next_build: null,
      finished_build: null,
      inputs: [{ name: 'repo', resource: 'repo', passed: ['unit'], trigger: false }],
      outputs: [{ name: 'repo', resource: 'repo' }],
      groups: ['release'],
    });
    expect(jobs[0]?.inputs).toEqual([{ name: 'repo', resource: 'repo', trigger: true }]);
    expect(jobs[2]).toMatchObject({ disable_manual_trigger: true, groups: ['other'] });
  });

  it('pauses and unpauses a job, saying who paused it', async () => {
    const paused = await world.services.jobs.pause(unit, 'dave');
    expect(paused).toMatchObject({ name: 'unit', paused: true, paused_by: 'dave' });
    expect(paused.paused_at).toEqual(expect.any(Number));
    expect((await world.services.jobs.get(unit)).paused).toBe(true);
    const unpaused = await world.services.jobs.unpause(unit);
    expect(unpaused.paused).toBe(false);
    expect(unpaused).not.toHaveProperty('paused_by');
  });

  it('triggers builds once the input has a version, and pages through them newest first', async () => {
    const { jobs, resources } = world.services;
    const unresolved = await rejectionOf(jobs.trigger(unit, 'erin'));
    expect(unresolved.code).toBe('CC_E_SCHEDULER_INPUTS_UNRESOLVED');
    expect(unresolved.status).toBe(409);

    await resources.check({ ...pipeline, resource: 'repo' }, { signal: new AbortController().signal });
    const first = await jobs.trigger(unit, 'erin');
    expect(first).toMatchObject({
      name: '1',
      status: 'pending',
      team_name: 'main',
      pipeline_name: 'app',
      job_name: 'unit',
      created_by: 'erin',
    });
    expect(first).not.toHaveProperty('start_time');
    expect(first).not.toHaveProperty('pending_inputs');
    const ids = [first.id];
    for (let i = 0; i < 3; i++) ids.push((await jobs.trigger(unit, 'erin')).id);

    const newest = await jobs.listBuilds(unit, { limit: 2 });
    expect(newest.items.map((b) => b.name)).toEqual(['4', '3']);
    expect(newest).toMatchObject({ hasOlder: true, hasNewer: false });
    const older = await jobs.listBuilds(unit, { limit: 2, before: ids[2]! });
    expect(older.items.map((b) => b.name)).toEqual(['2', '1']);
    expect(older).toMatchObject({ hasOlder: false, hasNewer: true });
    const newer = await jobs.listBuilds(unit, { limit: 2, since: ids[0]! });
    expect(newer.items.map((b) => b.name)).toEqual(['3', '2']);
    expect(newer).toMatchObject({ hasOlder: true, hasNewer: true });

    expect((await jobs.getBuild(unit, '3')).id).toBe(ids[2]);
    const missing = await rejectionOf(jobs.getBuild(unit, '99'));
    expect(missing.code).toBe('CC_E_API_BUILD_NOT_FOUND');
    expect(missing.details).toMatchObject({ job: 'unit', buildName: '99' });

    // The job shows its oldest unfinished build next.
    expect((await jobs.get(unit)).next_build).toMatchObject({ id: ids[0], name: '1', status: 'pending' });

    // Every team's builds, newest first.
    const all = await world.services.builds.list({ limit: 3 });
    expect(all.items.map((b) => b.id)).toEqual([ids[3], ids[2], ids[1]]);
    expect(all.hasOlder).toBe(true);
  });

  it('refuses manual triggers of a job that forbids them', async () => {
    const locked = { ...pipeline, job: 'locked' };
    const error = await rejectionOf(world.services.jobs.trigger(locked, 'erin'));
    expect(error.code).toBe('CC_E_API_MANUAL_TRIGGER_DISABLED');
    expect(error.status).toBe(409);
  });

  it('reruns a build with its inputs, named after it', async () => {
    const rerun = await world.services.jobs.rerun(unit, '2', 'frank');
    expect(rerun).toMatchObject({
      name: '2.1',
      status: 'pending',
      created_by: 'frank',
      rerun_of: { name: '2' },
      rerun_number: 1,
    });
    expect((await world.services.jobs.rerun(unit, '2', 'frank')).name).toBe('2.2');
    expect((await rejectionOf(world.services.jobs.rerun(unit, '42', 'frank'))).code).toBe(
      'CC_E_API_BUILD_NOT_FOUND',
    );
  });

  it('reports the outermost missing part of a job path', async () => {
    const { jobs } = world.services;
    expect((await rejectionOf(jobs.get({ ...pipeline, job: 'nope' }))).code).toBe('CC_E_API_JOB_NOT_FOUND');
    expect((await rejectionOf(jobs.get({ team: 'main', pipeline: 'nope', job: 'unit' }))).code).toBe(
      'CC_E_API_PIPELINE_NOT_FOUND',
    );
    expect((await rejectionOf(jobs.list({ team: 'ghosts', pipeline: 'app' }))).code).toBe(
      'CC_E_API_TEAM_NOT_FOUND',
    );
  });
});

describe('BuildService', () => {
  it('aborts a pending build at once, and answers a finished one unchanged', async () => {
    const { builds, jobs } = world.services;
    const build = await jobs.trigger(unit, 'gina');
    const aborted = await builds.abort(build.id, 'gina');
    expect(aborted).toMatchObject({ id: build.id, status: 'aborted' });
    expect(aborted.end_time).toEqual(expect.any(Number));
    expect(await builds.get(build.id)).toEqual(aborted);
    expect(await builds.abort(build.id, 'gina')).toEqual(aborted);
    expect((await rejectionOf(builds.abort(987_654, 'gina'))).code).toBe('CC_E_API_BUILD_NOT_FOUND');
    expect((await rejectionOf(builds.get(987_654))).code).toBe('CC_E_API_BUILD_NOT_FOUND');
  });

  it('streams stored and new events in order and ends after the final status', async () => {
    const build = await world.services.jobs.trigger(unit, 'hal');
    const log = (payload: string) => ({
      event: 'log' as const,
      data: { origin: { id: 'get', source: 'stdout' as const }, payload, time: 1 },
    });
    await appendEvents(world.pool, build.id, [log('one\n'), log('two\n')]);

    const stream = await world.services.builds.events(build.id, {
      from: 1,
      signal: new AbortController().signal,
    });
    const received: BuildEventRecord[] = [];
    const done = (async () => {
      for await (const record of stream) {
        received.push(record);
        // Once the stored ones are in, the build goes on.
        if (record.id === 1) {
          await appendEvents(world.pool, build.id, [log('three\n')]);
          await finishBuild(world.pool, build.id, 'succeeded');
        }
      }
    })();
    await done;
    expect(received.map((record) => record.id)).toEqual([1, 2, 3]);
    expect(received.map((record) => record.event.event)).toEqual(['log', 'log', 'status']);
    expect(received[0]?.event).toEqual(log('two\n'));
    expect(received[2]?.event).toMatchObject({ event: 'status', data: { status: 'succeeded' } });
  });

  it('ends a waiting stream when its signal aborts and lets its LISTEN go', async () => {
    const build = await world.services.jobs.trigger(unit, 'ivy');
    const listeners = async () => {
      const { rows } = await world.pool.query<{ n: number }>(
        `SELECT count(*)::integer AS n FROM pg_stat_activity
         WHERE datname = current_database() AND application_name = 'conveyor-build-events'`,
      );
      return rows[0]?.n ?? 0;
    };
    const controller = new AbortController();
    const stream = await world.services.builds.events(build.id, { from: 0, signal: controller.signal });
    expect(await listeners()).toBeGreaterThan(0);
    const iterator = stream[Symbol.asyncIterator]();
    const next = iterator.next();
    controller.abort();
    expect(await next).toEqual({ done: true, value: undefined });
    await eventually(async () => (await listeners()) === 0);
  });

  it('rejects a stream of an unknown build before sending anything', async () => {
    const error = await rejectionOf(
      world.services.builds.events(987_654, { from: 0, signal: new AbortController().signal }),
    );
    expect(error.code).toBe('CC_E_API_BUILD_NOT_FOUND');
  });
});
