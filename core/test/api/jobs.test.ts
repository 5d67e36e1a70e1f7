import type { InMemoryApiServices } from '@conveyor/test/harness/api-services.js';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { authed, samplePipeline, worldApi } from './helpers.js';

let app: FastifyInstance;
let world: InMemoryApiServices;
const unit = { team: 'main', pipeline: 'app', job: 'unit' };
const jobs = '/api/v1/teams/main/pipelines/app/jobs';

beforeEach(async () => {
  ({ app, world } = await worldApi());
  await world.services.pipelines.setConfig(
    { team: 'main', pipeline: 'app' },
    {
      config: `${samplePipeline}- name: manual-off\n  disable_manual_trigger: true\n  plan: []\n`,
      by: 'admin',
    },
  );
});
afterEach(async () => {
  await app.close();
});

describe('jobs', () => {
  it('are listed in config order with their next and finished builds', async () => {
    const first = world.createJobBuild(unit);
    world.startBuild(first.id);
    world.finishBuild(first.id, 'failed');
    const second = world.createJobBuild(unit);

    const res = await app.inject({ method: 'GET', url: jobs, headers: authed });
    expect(res.statusCode).toBe(200);
    const list = res.json();
    expect(list.map((j: { name: string }) => j.name)).toEqual(['unit', 'ship', 'manual-off']);
    expect(list[0]).toMatchObject({
      name: 'unit',
      team_name: 'main',
      pipeline_name: 'app',
      paused: false,
      inputs: [{ name: 'repo', resource: 'repo', trigger: true }],
      outputs: [],
      next_build: { id: second.id, name: '2', status: 'pending', job_name: 'unit' },
      finished_build: { id: first.id, name: '1', status: 'failed' },
    });
    expect(list[1]).toMatchObject({
      name: 'ship',
      inputs: [{ name: 'repo', passed: ['unit'], trigger: false }],
      outputs: [{ name: 'repo', resource: 'repo' }],
      next_build: null,
      finished_build: null,
    });
  });

  it('answer 404 CC_E_API_JOB_NOT_FOUND for a job the pipeline lacks, and name the pipeline first', async () => {
    const noJob = await app.inject({ method: 'GET', url: `${jobs}/nope`, headers: authed });
    expect(noJob.statusCode).toBe(404);
    expect(noJob.json()).toMatchObject({
      code: 'CC_E_API_JOB_NOT_FOUND',
      details: { team: 'main', pipeline: 'app', job: 'nope' },
    });

    const noPipeline = await app.inject({
      method: 'GET',
      url: '/api/v1/teams/main/pipelines/gone/jobs/unit',
      headers: authed,
    });
    expect(noPipeline.statusCode).toBe(404);
    expect(noPipeline.json().code).toBe('CC_E_API_PIPELINE_NOT_FOUND');
  });

  it('pause and unpause', async () => {
    const paused = await app.inject({ method: 'PUT', url: `${jobs}/unit/pause`, headers: authed });
    expect(paused.statusCode).toBe(200);
    expect(paused.json()).toMatchObject({ name: 'unit', paused: true, paused_by: 'admin' });
    const unpaused = await app.inject({ method: 'PUT', url: `${jobs}/unit/unpause`, headers: authed });
    expect(unpaused.json().paused).toBe(false);
  });
});

describe('job builds', () => {
  it('are triggered with 201, the new build created by the caller', async () => {
    const res = await app.inject({ method: 'POST', url: `${jobs}/unit/builds`, headers: authed });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toEqual({
      id: expect.any(Number),
      name: '1',
      status: 'pending',
      team_name: 'main',
      pipeline_name: 'app',
      job_name: 'unit',
      created_by: 'admin',
    });
  });

  it('cannot be triggered by hand when the job disables it: 409', async () => {
    const res = await app.inject({ method: 'POST', url: `${jobs}/manual-off/builds`, headers: authed });
    expect(res.statusCode).toBe(409);
    expect(res.json().code).toBe('CC_E_API_MANUAL_TRIGGER_DISABLED');
  });

  it('are found by name, and a missing name answers 404', async () => {
    const build = world.createJobBuild(unit);
    const found = await app.inject({ method: 'GET', url: `${jobs}/unit/builds/1`, headers: authed });
    expect(found.statusCode).toBe(200);
    expect(found.json()).toMatchObject({ id: build.id, name: '1' });

    const missing = await app.inject({ method: 'GET', url: `${jobs}/unit/builds/7`, headers: authed });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ code: 'CC_E_API_BUILD_NOT_FOUND', details: { buildName: '7' } });
  });

  it('are rerun as <name>.<n>, pointing at the build they rerun', async () => {
    const original = world.createJobBuild(unit);
    world.finishBuild(original.id, 'failed');
    const first = await app.inject({ method: 'POST', url: `${jobs}/unit/builds/1`, headers: authed });
    expect(first.statusCode).toBe(201);
    expect(first.json()).toMatchObject({
      name: '1.1',
      status: 'pending',
      rerun_of: { id: original.id, name: '1' },
      rerun_number: 1,
      created_by: 'admin',
    });
    const second = await app.inject({ method: 'POST', url: `${jobs}/unit/builds/1`, headers: authed });
    expect(second.json().name).toBe('1.2');
  });

  it('are listed newest first, a page at a time, with Link headers to the other pages', async () => {
    const ids = Array.from({ length: 5 }, () => world.createJobBuild(unit).id);
    const names = (res: { json(): Array<{ name: string }> }) => res.json().map((b) => b.name);

    const newest = await app.inject({ method: 'GET', url: `${jobs}/unit/builds?limit=2`, headers: authed });
    expect(newest.statusCode).toBe(200);
    expect(names(newest)).toEqual(['5', '4']);
    expect(newest.headers.link).toBe(`<${jobs}/unit/builds?before=${ids[3]}&limit=2>; rel="next"`);

    const middle = await app.inject({
      method: 'GET',
      url: `${jobs}/unit/builds?before=${ids[3]}&limit=2`,
      headers: authed,
    });
    expect(names(middle)).toEqual(['3', '2']);
    expect(middle.headers.link).toBe(
      `<${jobs}/unit/builds?before=${ids[1]}&limit=2>; rel="next", <${jobs}/unit/builds?since=${ids[2]}&limit=2>; rel="previous"`,
    );

    const oldest = await app.inject({
      method: 'GET',
      url: `${jobs}/unit/builds?before=${ids[1]}&limit=2`,
      headers: authed,
    });
    expect(names(oldest)).toEqual(['1']);
    expect(oldest.headers.link).toBe(`<${jobs}/unit/builds?since=${ids[0]}&limit=2>; rel="previous"`);

    // Back from the oldest page: the two builds just newer than build 1, newest first.
    const back = await app.inject({
      method: 'GET',
      url: `${jobs}/unit/builds?since=${ids[0]}&limit=2`,
      headers: authed,
    });
    expect(names(back)).toEqual(['3', '2']);
  });

  it('list without Link header when everything fits', async () => {
    world.createJobBuild(unit);
    const res = await app.inject({ method: 'GET', url: `${jobs}/unit/builds`, headers: authed });
    expect(res.json()).toHaveLength(1);
    expect(res.headers.link).toBeUndefined();
  });

  it.each([
    ['limit=0', 'querystring.limit'],
    ['limit=abc', 'querystring.limit'],
    ['limit=1001', 'querystring.limit'],
    ['before=0', 'querystring.before'],
    ['before=3&since=1', 'querystring.before'],
  ])('reject the page query %s with 400', async (query, field) => {
    const res = await app.inject({ method: 'GET', url: `${jobs}/unit/builds?${query}`, headers: authed });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'CC_E_API_BAD_REQUEST', details: { field } });
  });
});
