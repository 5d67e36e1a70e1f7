import type { Container, Volume } from '@conveyor/core/api';
import type { InMemoryApiServices } from '@conveyor/test/harness/api-services.js';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { authed, samplePipeline, worldApi } from './helpers.js';

let app: FastifyInstance;
let world: InMemoryApiServices;
const unit = { team: 'main', pipeline: 'app', job: 'unit' };

function container(buildId: number, step: string, handle: string): Container {
  return {
    handle,
    worker_name: 'local',
    runtime: 'local',
    state: 'created',
    team_name: 'main',
    build_id: buildId,
    build_name: '1',
    pipeline_name: 'app',
    job_name: 'unit',
    plan_id: '2',
    step_name: step,
    type: 'task',
    created_at: 1_700_000_000,
  };
}

beforeEach(async () => {
  ({ app, world } = await worldApi());
  await world.services.pipelines.setConfig(
    { team: 'main', pipeline: 'app' },
    { config: samplePipeline, by: 'a' },
  );
});
afterEach(async () => {
  await app.close();
});

describe('GET /teams/:team/containers', () => {
  it('lists the containers of the team’s builds, filtered by the query', async () => {
    const build = world.createJobBuild(unit);
    world.addContainer(container(build.id, 'compile', 'b1-c-a'));
    world.addContainer(container(build.id, 'test', 'b1-c-b'));

    const all = await app.inject({ method: 'GET', url: '/api/v1/teams/main/containers', headers: authed });
    expect(all.statusCode).toBe(200);
    expect(all.json()).toEqual([
      container(build.id, 'compile', 'b1-c-a'),
      container(build.id, 'test', 'b1-c-b'),
    ]);

    const one = await app.inject({
      method: 'GET',
      url: '/api/v1/teams/main/containers?pipeline=app&job=unit&build=1&step=test',
      headers: authed,
    });
    expect(one.json().map((c: Container) => c.handle)).toEqual(['b1-c-b']);
  });

  it('answers 404 for a pipeline the team lacks, and 400 for an unknown filter', async () => {
    const missing = await app.inject({
      method: 'GET',
      url: '/api/v1/teams/main/containers?pipeline=nope',
      headers: authed,
    });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().code).toBe('CC_E_API_PIPELINE_NOT_FOUND');
    const unknown = await app.inject({
      method: 'GET',
      url: '/api/v1/teams/main/containers?worker=x',
      headers: authed,
    });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json()).toMatchObject({
      code: 'CC_E_API_BAD_REQUEST',
      details: { field: 'querystring.worker' },
    });
  });
});

describe('GET /teams/:team/volumes', () => {
  it('lists the volumes of the team’s builds with their role and step', async () => {
    const build = world.createJobBuild(unit);
    const volume: Volume = {
      handle: 'b1-v-a',
      worker_name: 'local',
      driver: 'naive',
      state: 'created',
      type: 'output',
      artifact: 'out',
      team_name: 'main',
      build_id: build.id,
      build_name: '1',
      pipeline_name: 'app',
      job_name: 'unit',
      plan_id: '2',
      step_name: 'compile',
      created_at: 1_700_000_000,
    };
    world.addVolume(volume);
    const res = await app.inject({
      method: 'GET',
      url: '/api/v1/teams/main/volumes?type=output',
      headers: authed,
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual([volume]);
    const none = await app.inject({
      method: 'GET',
      url: '/api/v1/teams/main/volumes?type=cache',
      headers: authed,
    });
    expect(none.json()).toEqual([]);
  });
});
