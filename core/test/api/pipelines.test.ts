import type { InMemoryApiServices } from '@conveyor/test/harness/api-services.js';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { authed, samplePipeline, worldApi } from './helpers.js';

let app: FastifyInstance;
let world: InMemoryApiServices;
beforeEach(async () => {
  ({ app, world } = await worldApi());
});
afterEach(async () => {
  await app.close();
});

const base = '/api/v1/teams/main/pipelines';

async function setPipeline(name: string, config: string, extra: Record<string, unknown> = {}) {
  return app.inject({
    method: 'PUT',
    url: `${base}/${name}/config`,
    headers: authed,
    payload: { config, ...extra },
  });
}

describe('PUT .../pipelines/:pipeline/config', () => {
  it('creates the pipeline with 201, then updates it with 200 and a new version', async () => {
    const created = await setPipeline('app', samplePipeline);
    expect(created.statusCode).toBe(201);
    expect(created.json()).toEqual({ created: true, version: 1, warnings: [] });

    const updated = await setPipeline('app', `${samplePipeline}\n# a comment\n`);
    expect(updated.statusCode).toBe(200);
    expect(updated.json()).toEqual({ created: false, version: 2, warnings: [] });
  });

  it('passes vars, the expected version and who set it to the service', async () => {
    await setPipeline('app', samplePipeline, { vars: { branch: 'main', depth: 2 }, expected_version: 0 });
    expect(world.setConfigCalls).toEqual([
      { config: samplePipeline, vars: { branch: 'main', depth: 2 }, expectedVersion: 0, by: 'admin' },
    ]);
  });

  it('answers 409 CC_E_API_PIPELINE_CONFIG_CONFLICT when the config changed since expected_version', async () => {
    await setPipeline('app', samplePipeline);
    await setPipeline('app', samplePipeline);
    const stale = await setPipeline('app', samplePipeline, { expected_version: 1 });
    expect(stale.statusCode).toBe(409);
    expect(stale.json()).toMatchObject({
      code: 'CC_E_API_PIPELINE_CONFIG_CONFLICT',
      details: { expectedVersion: 1, version: 2 },
    });
  });

  it('passes the validator’s problems through with their positions', async () => {
    const config = ['resources:', '- name: repo', '  type: mock', 'jobz:', '- name: unit', ''].join('\n');
    const res = await setPipeline('app', config);
    expect(res.statusCode).toBe(400);
    const body = res.json();
    expect(body.code).toBe('CC_E_PIPELINE_INVALID');
    expect(body.details.problems).toEqual([
      {
        file: 'pipeline.yml',
        line: 4,
        column: 1,
        path: 'jobz',
        message: 'is not a pipeline field',
        severity: 'error',
      },
    ]);
    // Nothing was stored.
    const get = await app.inject({ method: 'GET', url: `${base}/app`, headers: authed });
    expect(get.statusCode).toBe(404);
  });

  it('passes YAML syntax errors through with their line and column', async () => {
    const res = await setPipeline('app', 'jobs:\n- name: unit\n  plan: [\n');
    expect(res.statusCode).toBe(400);
    const [problem] = res.json().details.problems;
    expect(problem).toMatchObject({
      file: 'pipeline.yml',
      line: expect.any(Number),
      column: expect.any(Number),
    });
    expect(problem.line).toBeGreaterThanOrEqual(3);
  });

  it('answers with the validator’s warnings, placed, when it stores the config anyway', async () => {
    const res = await setPipeline('app', 'jobs:\n- name: Unit\n  plan: []\n');
    expect(res.statusCode).toBe(201);
    expect(res.json().warnings).toEqual([
      {
        file: 'pipeline.yml',
        line: 2,
        column: 9,
        path: 'jobs[0].name',
        message: '"Unit" is not a valid identifier',
        severity: 'warning',
        type: 'invalid_identifier',
      },
    ]);
  });

  it.each([
    ['no config', {}, 'body.config'],
    ['a config that is not text', { config: { jobs: [] } }, 'body.config'],
    ['a misspelt field', { config: 'jobs: []', expectedVersion: 1 }, 'body.expectedVersion'],
    ['a negative expected version', { config: 'jobs: []', expected_version: -1 }, 'body.expected_version'],
  ])('answers 400 CC_E_API_BAD_REQUEST for %s', async (_, payload, field) => {
    const res = await app.inject({ method: 'PUT', url: `${base}/app/config`, headers: authed, payload });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'CC_E_API_BAD_REQUEST', details: { field } });
  });

  it('answers 404 CC_E_API_TEAM_NOT_FOUND for a team that does not exist', async () => {
    const res = await app.inject({
      method: 'PUT',
      url: '/api/v1/teams/nobody/pipelines/app/config',
      headers: authed,
      payload: { config: samplePipeline },
    });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({
      code: 'CC_E_API_TEAM_NOT_FOUND',
      message: 'no team "nobody"',
      details: { team: 'nobody' },
    });
  });
});

describe('GET .../pipelines/:pipeline/config', () => {
  it('gives the YAML back exactly as it was set, with its version', async () => {
    const config = `# keep this comment\n${samplePipeline}`;
    await setPipeline('app', config);
    const res = await app.inject({ method: 'GET', url: `${base}/app/config`, headers: authed });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ config, version: 1 });
  });

  it('answers 404 CC_E_API_PIPELINE_NOT_FOUND naming the pipeline and team', async () => {
    const res = await app.inject({ method: 'GET', url: `${base}/nope/config`, headers: authed });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({
      code: 'CC_E_API_PIPELINE_NOT_FOUND',
      message: expect.stringContaining('no pipeline "nope" in team "main"'),
      details: { team: 'main', pipeline: 'nope' },
    });
  });
});

describe('pipelines', () => {
  it('are listed for a team and for every team', async () => {
    world.addTeam('other');
    await setPipeline('app', samplePipeline);
    await app.inject({
      method: 'PUT',
      url: '/api/v1/teams/other/pipelines/lib/config',
      headers: authed,
      payload: { config: samplePipeline },
    });

    const main = await app.inject({ method: 'GET', url: base, headers: authed });
    expect(main.statusCode).toBe(200);
    expect(main.json().map((p: { name: string }) => p.name)).toEqual(['app']);

    const all = await app.inject({ method: 'GET', url: '/api/v1/pipelines', headers: authed });
    expect(all.json().map((p: { team_name: string; name: string }) => `${p.team_name}/${p.name}`)).toEqual([
      'main/app',
      'other/lib',
    ]);
  });

  it('answers 404 for the pipelines of a team that does not exist', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/v1/teams/nobody/pipelines', headers: authed });
    expect(res.statusCode).toBe(404);
    expect(res.json().code).toBe('CC_E_API_TEAM_NOT_FOUND');
  });

  it('is shown in Concourse’s shape', async () => {
    await setPipeline('app', samplePipeline);
    const res = await app.inject({ method: 'GET', url: `${base}/app`, headers: authed });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      id: expect.any(Number),
      name: 'app',
      team_name: 'main',
      paused: false,
      public: false,
      archived: false,
      groups: [],
      last_updated: expect.any(Number),
    });
  });

  it('pause and unpause, recording who paused', async () => {
    await setPipeline('app', samplePipeline);
    const paused = await app.inject({ method: 'PUT', url: `${base}/app/pause`, headers: authed });
    expect(paused.statusCode).toBe(200);
    expect(paused.json()).toMatchObject({ name: 'app', paused: true, paused_by: 'admin' });

    const unpaused = await app.inject({ method: 'PUT', url: `${base}/app/unpause`, headers: authed });
    expect(unpaused.statusCode).toBe(200);
    expect(unpaused.json().paused).toBe(false);
    expect(unpaused.json().paused_by).toBeUndefined();
  });

  it('is deleted with 204, after which it is not found', async () => {
    await setPipeline('app', samplePipeline);
    const deleted = await app.inject({ method: 'DELETE', url: `${base}/app`, headers: authed });
    expect(deleted.statusCode).toBe(204);
    expect(deleted.body).toBe('');
    const again = await app.inject({ method: 'DELETE', url: `${base}/app`, headers: authed });
    expect(again.statusCode).toBe(404);
    expect(again.json().code).toBe('CC_E_API_PIPELINE_NOT_FOUND');
  });
});
