import { getPipeline } from '@conveyor/core/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rejectionOf, SERVICES_VAR_PREFIX, type ServicesWorld, startWorld } from './helpers.js';

let world: ServicesWorld;

/** Credentials the world's env manager and the pipeline's `vault` var source find. */
const secrets = {
  [`${SERVICES_VAR_PREFIX}START`]: 'v1',
  [`${SERVICES_VAR_PREFIX}DEPLOY`]: JSON.stringify({ user: 'ci', token: 'deploy-token-s3cr3t' }),
  CCTEST_SERVICES_VAULT_KEY: 'vault-key-s3cr3t',
};

beforeAll(async () => {
  // Before the world starts: plugin workers copy the environment when they start.
  Object.assign(process.env, secrets);
  world = await startWorld();
});

afterAll(async () => {
  await world?.close();
  for (const name of Object.keys(secrets)) delete process.env[name];
});

const main = (pipeline: string) => ({ team: 'main', pipeline });

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

groups:
- name: all
  jobs: [unit, ship]
`;

describe('PipelineService.setConfig', () => {
  it('creates a pipeline, then updates it at the expected version, and refuses a stale one', async () => {
    const { pipelines } = world.services;
    const created = await pipelines.setConfig(main('app'), { config, by: 'alice' });
    expect(created).toEqual({ created: true, version: 1, warnings: [] });

    // The text comes back byte for byte, at the version to expect next time.
    expect(await pipelines.getConfig(main('app'))).toEqual({ config, version: 1 });

    const changed = `${config}# a comment\n`;
    const updated = await pipelines.setConfig(main('app'), {
      config: changed,
      expectedVersion: 1,
      by: 'alice',
    });
    expect(updated).toEqual({ created: false, version: 2, warnings: [] });

    const conflict = await rejectionOf(
      pipelines.setConfig(main('app'), { config, expectedVersion: 1, by: 'bob' }),
    );
    expect(conflict.code).toBe('CC_E_API_PIPELINE_CONFIG_CONFLICT');
    expect(conflict.status).toBe(409);
    expect(conflict.details).toMatchObject({ expectedVersion: 1, version: 2 });
    expect((await pipelines.getConfig(main('app'))).config).toBe(changed);
  });

  it('treats expected version 0 as "not created yet"', async () => {
    const { pipelines } = world.services;
    const first = await pipelines.setConfig(main('fresh'), { config, expectedVersion: 0, by: 'alice' });
    expect(first.created).toBe(true);
    const again = await rejectionOf(
      pipelines.setConfig(main('fresh'), { config, expectedVersion: 0, by: 'bob' }),
    );
    expect(again.code).toBe('CC_E_API_PIPELINE_CONFIG_CONFLICT');
    expect(again.details).toMatchObject({ expectedVersion: 0, version: 1 });

    // Expecting a version of a pipeline that does not exist is a conflict too.
    const missing = await rejectionOf(
      pipelines.setConfig(main('nowhere'), { config, expectedVersion: 3, by: 'bob' }),
    );
    expect(missing.code).toBe('CC_E_API_PIPELINE_CONFIG_CONFLICT');
    expect(missing.details).toMatchObject({ expectedVersion: 3, version: 0 });
  });

  it('rejects an invalid config with every problem at its line and column, and stores nothing', async () => {
    const invalid = `resources:
- name: repo
  type: mock
  source: {initial_version: v1, colour: blue}
- name: other
  type: nosuch

jobs:
- name: unit
  plan:
  - get: nope
`;
    const error = await rejectionOf(
      world.services.pipelines.setConfig(main('broken'), { config: invalid, by: 'a' }),
    );
    expect(error.code).toBe('CC_E_PIPELINE_INVALID');
    expect(error.status).toBe(400);
    const problems = error.details.problems as Array<Record<string, unknown>>;
    // The mock plugin's source schema, the installed resource types, and the pipeline's own rules.
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          file: 'pipeline.yml',
          path: 'resources[0].source.colour',
          line: 4,
          severity: 'error',
        }),
        expect.objectContaining({ path: 'resources[1].type', line: 6, column: 9, severity: 'error' }),
        expect.objectContaining({ path: 'jobs[0].plan[0].get', line: 11, column: 10, severity: 'error' }),
      ]),
    );
    expect(await getPipeline(world.pool, 'main', 'broken')).toBeNull();
  });

  it('applies vars and answers warnings in the API problem shape', async () => {
    const withVars = `resources:
- name: repo
  type: mock
  source: {initial_version: ((start))}
jobs:
- name: unit
  plan: [{get: repo}]
anchors: {}
`;
    const result = await world.services.pipelines.setConfig(main('vars'), {
      config: withVars,
      vars: { start: 'v7' },
      by: 'alice',
    });
    expect(result.warnings).toEqual([
      expect.objectContaining({
        file: 'pipeline.yml',
        path: 'anchors',
        line: 8,
        column: 1,
        severity: 'warning',
      }),
    ]);
    const stored = await getPipeline(world.pool, 'main', 'vars');
    expect(stored?.config).toMatchObject({ resources: [{ source: { initial_version: 'v7' } }] });
  });

  it('with checkCreds, looks up every var left after static vars, places each one missing, and stores nothing', async () => {
    const withCreds = (params: string) => `var_sources:
- name: vault
  type: env
  config: {prefix: CCTEST_SERVICES_VAULT_}
resources:
- name: repo
  type: mock
  source: {initial_version: ((start))}
jobs:
- name: unit
  plan:
  - get: repo
  - load_var: local
    file: repo/version
  - task: use
    config:
      platform: linux
      run: {path: echo}
      params: ${params}
`;
    const good = '{A: ((deploy.user)), B: "key=((vault:key))", C: ((.:local)), D: ((given))}';
    const bad = `{A: ((deploy.user)), B: ((missing)),
        C: ((deploy.password)), D: ((nosource:x)), E: "again ((missing))"}`;
    const error = await rejectionOf(
      world.services.pipelines.setConfig(main('creds'), {
        config: withCreds(bad),
        checkCreds: true,
        by: 'alice',
      }),
    );
    expect(error.code).toBe('CC_E_PIPELINE_CREDS_MISSING');
    expect(error.status).toBe(400);
    const problems = error.details.problems as Array<Record<string, unknown>>;
    expect(problems.map(({ path, line, column }) => ({ path, line, column }))).toEqual([
      { path: 'jobs[0].plan[2].config.params.B', line: 19, column: 39 },
      { path: 'jobs[0].plan[2].config.params.C', line: 20, column: 12 },
      { path: 'jobs[0].plan[2].config.params.D', line: 20, column: 36 },
      { path: 'jobs[0].plan[2].config.params.E', line: 20, column: 55 },
    ]);
    expect(problems[0]?.message).toMatch(/undefined var: \(\(missing\)\) \(asked: env@1\.0\.0\)/);
    expect(problems[1]?.message).toMatch(/missing field "password" in var \(\(deploy.password\)\)/);
    expect(problems[2]?.message).toMatch(/var source "nosource".*var sources: vault/);
    expect(error.message).toContain('pipeline.yml:19:39');
    // Looked up, never told: no value reaches the error.
    expect(JSON.stringify({ message: error.message, details: error.details })).not.toMatch(/s3cr3t|"ci"/);
    expect(await getPipeline(world.pool, 'main', 'creds')).toBeNull();

    // Every var resolves (a field, a var source, a static var); local vars are the build's.
    await world.services.pipelines.setConfig(main('creds'), {
      config: withCreds(good),
      vars: { given: 'static' },
      checkCreds: true,
      by: 'alice',
    });
    // Without checkCreds, builds resolve the vars when they run: the config is stored as it is.
    const unchecked = await world.services.pipelines.setConfig(main('unchecked'), {
      config: withCreds(bad),
      by: 'alice',
    });
    expect(unchecked.created).toBe(true);
  });

  it('names the team when it does not exist', async () => {
    const error = await rejectionOf(
      world.services.pipelines.setConfig({ team: 'ghosts', pipeline: 'app' }, { config, by: 'a' }),
    );
    expect(error.code).toBe('CC_E_API_TEAM_NOT_FOUND');
  });
});

describe('PipelineService', () => {
  it('lists, gets, pauses, unpauses and deletes pipelines in the API shape', async () => {
    const { pipelines } = world.services;
    await pipelines.setConfig(main('life'), { config, by: 'alice' });

    const got = await pipelines.get(main('life'));
    expect(got).toMatchObject({
      name: 'life',
      team_name: 'main',
      // New pipelines start paused, as in Concourse.
      paused: true,
      public: false,
      archived: false,
      groups: [{ name: 'all', jobs: ['unit', 'ship'] }],
    });
    expect(got.last_updated).toBeGreaterThan(Date.now() / 1000 - 60);
    expect((await pipelines.list('main')).map((p) => p.name)).toContain('life');
    expect((await pipelines.list()).map((p) => p.name)).toContain('life');

    const paused = await pipelines.pause(main('life'), 'carol');
    expect(paused).toMatchObject({ paused: true, paused_by: 'carol' });
    expect(paused.paused_at).toEqual(expect.any(Number));

    const unpaused = await pipelines.unpause(main('life'));
    expect(unpaused.paused).toBe(false);
    expect(unpaused).not.toHaveProperty('paused_by');
    expect(unpaused).not.toHaveProperty('paused_at');

    await pipelines.delete(main('life'));
    const gone = await rejectionOf(pipelines.get(main('life')));
    expect(gone.code).toBe('CC_E_API_PIPELINE_NOT_FOUND');
    expect((await rejectionOf(pipelines.delete(main('life')))).code).toBe('CC_E_API_PIPELINE_NOT_FOUND');
  });

  it('reports the outermost missing part of a path', async () => {
    const { pipelines } = world.services;
    expect((await rejectionOf(pipelines.list('ghosts'))).code).toBe('CC_E_API_TEAM_NOT_FOUND');
    expect((await rejectionOf(pipelines.get({ team: 'ghosts', pipeline: 'x' }))).code).toBe(
      'CC_E_API_TEAM_NOT_FOUND',
    );
    expect((await rejectionOf(pipelines.getConfig(main('x')))).code).toBe('CC_E_API_PIPELINE_NOT_FOUND');
    expect((await rejectionOf(pipelines.pause(main('x'), 'a'))).code).toBe('CC_E_API_PIPELINE_NOT_FOUND');
  });
});
