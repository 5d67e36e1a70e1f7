import type { InMemoryApiServices } from '@conveyor/test/harness/api-services.js';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { authed, samplePipeline, worldApi } from './helpers.js';

let app: FastifyInstance;
let world: InMemoryApiServices;
const unit = { team: 'main', pipeline: 'app', job: 'unit' };
const ship = { team: 'main', pipeline: 'app', job: 'ship' };

beforeEach(async () => {
  ({ app, world } = await worldApi());
  await world.services.pipelines.setConfig(
    { team: 'main', pipeline: 'app' },
    { config: samplePipeline, by: 'admin' },
  );
});
afterEach(async () => {
  await app.close();
});

describe('GET /builds', () => {
  it('lists the builds of every job, newest first, paginated with Link headers', async () => {
    const a = world.createJobBuild(unit);
    const b = world.createJobBuild(ship);
    const c = world.createJobBuild(unit);

    const first = await app.inject({ method: 'GET', url: '/api/v1/builds?limit=2', headers: authed });
    expect(first.statusCode).toBe(200);
    expect(first.json().map((build: { id: number }) => build.id)).toEqual([c.id, b.id]);
    expect(first.headers.link).toBe(`</api/v1/builds?before=${b.id}&limit=2>; rel="next"`);

    const next = await app.inject({
      method: 'GET',
      url: `/api/v1/builds?before=${b.id}&limit=2`,
      headers: authed,
    });
    expect(next.json().map((build: { id: number }) => build.id)).toEqual([a.id]);
    expect(next.headers.link).toBe(`</api/v1/builds?since=${a.id}&limit=2>; rel="previous"`);
  });

  it('answers an empty page without links when there are no builds', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/v1/builds', headers: authed });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual([]);
    expect(res.headers.link).toBeUndefined();
  });
});

describe('GET /builds/:id', () => {
  it('answers the build in Concourse’s shape, times once it has them', async () => {
    const build = world.createJobBuild(unit);
    world.startBuild(build.id);
    world.finishBuild(build.id, 'succeeded');
    const res = await app.inject({ method: 'GET', url: `/api/v1/builds/${build.id}`, headers: authed });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      id: build.id,
      name: '1',
      status: 'succeeded',
      team_name: 'main',
      pipeline_name: 'app',
      job_name: 'unit',
      start_time: expect.any(Number),
      end_time: expect.any(Number),
    });
  });

  it('answers 404 CC_E_API_BUILD_NOT_FOUND for an unknown id', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/v1/builds/999', headers: authed });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({
      code: 'CC_E_API_BUILD_NOT_FOUND',
      message: 'no build with id 999',
      details: { build: 999 },
    });
  });

  it.each(['abc', '0', '-1', '1.5'])('answers 400 for the id %s', async (id) => {
    const res = await app.inject({ method: 'GET', url: `/api/v1/builds/${id}`, headers: authed });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'CC_E_API_BAD_REQUEST', details: { field: 'params.id' } });
  });
});

describe('PUT /builds/:id/abort', () => {
  it('aborts a running build and leaves a finished one as it is', async () => {
    const running = world.createJobBuild(unit);
    world.startBuild(running.id);
    const aborted = await app.inject({
      method: 'PUT',
      url: `/api/v1/builds/${running.id}/abort`,
      headers: authed,
    });
    expect(aborted.statusCode).toBe(200);
    expect(aborted.json()).toMatchObject({ id: running.id, status: 'aborted' });

    const done = world.createJobBuild(unit);
    world.finishBuild(done.id, 'succeeded');
    const untouched = await app.inject({
      method: 'PUT',
      url: `/api/v1/builds/${done.id}/abort`,
      headers: authed,
    });
    expect(untouched.statusCode).toBe(200);
    expect(untouched.json().status).toBe('succeeded');
  });

  it('answers 404 for an unknown build', async () => {
    const res = await app.inject({ method: 'PUT', url: '/api/v1/builds/42/abort', headers: authed });
    expect(res.statusCode).toBe(404);
    expect(res.json().code).toBe('CC_E_API_BUILD_NOT_FOUND');
  });
});
