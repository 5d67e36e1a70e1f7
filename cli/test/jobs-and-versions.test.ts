import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { adminToken, cc, startApi, type TestApi, tempHome } from './helpers.js';

// Comments, flow style and odd spacing: get-pipeline must give them back byte for byte.
const config = `# the app's pipeline
resources:
  - name: repo     # the source
    type: git
    source: { uri: "git@example.com:app.git", branch: main }
jobs:
  - name: unit
    plan:
      - get: repo
        trigger: true
  - name: build
    plan: [ { get: repo, passed: [unit] } ]
`;

let api: TestApi;
let home: string;
let env: Record<string, string>;
let cleanupHome: () => Promise<void>;
const app = { team: 'main', pipeline: 'app' };
const repo = { ...app, resource: 'repo' };
const unit = { ...app, job: 'unit' };

beforeAll(async () => {
  api = await startApi();
  ({ home, cleanup: cleanupHome } = await tempHome());
  env = { CONVEYOR_HOME: home, CONVEYOR_URL: api.url, CONVEYOR_TOKEN: adminToken };
});
afterAll(async () => {
  await api.close();
  await cleanupHome();
});
beforeEach(async () => {
  await api.world.services.pipelines.delete(app).catch(() => {});
  await api.world.services.pipelines.setConfig(app, { config, by: 'test' });
});

describe('cc get-pipeline', () => {
  it('prints the config text as it was set, which sets the same pipeline again unchanged', async () => {
    const got = await cc(['get-pipeline', '-p', 'app'], env);
    expect(got).toMatchObject({ code: 0, stdout: config, stderr: '' });

    const path = join(home, 'p.yml');
    await writeFile(path, got.stdout);
    const before = await api.world.services.pipelines.getConfig(app);
    const set = await cc(['set-pipeline', '-p', 'app', '-c', path, '-n'], env);
    expect(set.code).toBe(0);
    expect(set.stdout).toBe('no changes to apply\n');
    expect(await api.world.services.pipelines.getConfig(app)).toEqual(before);
  });

  it('adds no newline of its own to a config that ends without one', async () => {
    const bare = 'jobs:\n  - name: unit\n    plan: []';
    await api.world.services.pipelines.setConfig(app, { config: bare, by: 'test' });
    const { code, stdout } = await cc(['gp', '-p', 'app'], env);
    expect(code).toBe(0);
    expect(stdout).toBe(bare);
  });

  it('prints the config as JSON with --json', async () => {
    const { code, stdout } = await cc(['get-pipeline', '-p', 'app', '--json'], env);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual({
      resources: [{ name: 'repo', type: 'git', source: { uri: 'git@example.com:app.git', branch: 'main' } }],
      jobs: [
        { name: 'unit', plan: [{ get: 'repo', trigger: true }] },
        { name: 'build', plan: [{ get: 'repo', passed: ['unit'] }] },
      ],
    });
    expect(JSON.parse(stdout)).toEqual(parse(config));
  });

  it('names a missing pipeline and the command that lists them', async () => {
    const missing = await cc(['get-pipeline', '-p', 'nope'], env);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toBe('');
    expect(missing.stderr).toContain('pipeline nope does not exist in team main');
    expect(missing.stderr).toContain('`cc pipelines` lists them');
    expect(missing.stderr).toContain('Code: CC_E_CLI_NOT_FOUND');

    const json = await cc(['get-pipeline', '-p', 'nope', '--json'], env);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toEqual({
      error: {
        code: 'CC_E_CLI_NOT_FOUND',
        message: 'pipeline nope does not exist in team main',
        exit: 1,
        details: { team: 'main', pipeline: 'nope' },
      },
    });

    const malformed = await cc(['get-pipeline', '-p', 'app/unit'], env);
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toContain('is not a pipeline name');
  });
});

describe('cc pause-job and cc unpause-job', () => {
  it('pauses and unpauses a job, as the server then reports it', async () => {
    const paused = await cc(['pause-job', '-j', 'app/unit'], env);
    expect(paused).toMatchObject({ code: 0, stdout: "paused 'app/unit'\n" });
    expect(await api.world.services.jobs.get(unit)).toMatchObject({ paused: true, paused_by: 'admin' });
    expect((await api.world.services.jobs.get({ ...app, job: 'build' })).paused).toBe(false);

    const unpaused = await cc(['uj', '-j', 'app/unit'], env);
    expect(unpaused).toMatchObject({ code: 0, stdout: "unpaused 'app/unit'\n" });
    const job = await api.world.services.jobs.get(unit);
    expect(job.paused).toBe(false);
    expect(job.paused_by).toBeUndefined();
  });

  it('prints the job as the server answered it with --json', async () => {
    const paused = await cc(['pj', '-j', 'app/unit', '--json'], env);
    expect(paused.code).toBe(0);
    expect(JSON.parse(paused.stdout)).toEqual(await api.world.services.jobs.get(unit));
    expect(JSON.parse(paused.stdout)).toMatchObject({ name: 'unit', pipeline_name: 'app', paused: true });

    const unpaused = await cc(['unpause-job', '-j', 'app/unit', '--json'], env);
    expect(unpaused.code).toBe(0);
    expect(JSON.parse(unpaused.stdout)).toMatchObject({ name: 'unit', paused: false });
  });

  it('fails with the server’s code for a missing job or pipeline, and on a malformed -j', async () => {
    const job = await cc(['pause-job', '-j', 'app/nope'], env);
    expect(job.code).toBe(1);
    expect(job.stderr).toContain('CC_E_API_JOB_NOT_FOUND');
    expect(job.stderr).toContain('Code: CC_E_CLI_API_ERROR');

    const pipeline = await cc(['unpause-job', '-j', 'nope/unit', '--json'], env);
    expect(pipeline.code).toBe(1);
    expect(JSON.parse(pipeline.stdout).error).toMatchObject({
      code: 'CC_E_CLI_API_ERROR',
      details: { serverCode: 'CC_E_API_PIPELINE_NOT_FOUND' },
    });

    const malformed = await cc(['pause-job', '-j', 'unit'], env);
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toContain('is not PIPELINE/JOB');
  });
});

describe('cc disable-resource-version and cc enable-resource-version', () => {
  async function enabledByRef(): Promise<Record<string, boolean>> {
    const { items } = await api.world.services.resources.listVersions(repo, { limit: 500 });
    return Object.fromEntries(items.map((v) => [v.version.ref, v.enabled]));
  }

  it('disables and enables the newest version whose fields match', async () => {
    api.world.addVersions(repo, [
      { ref: 'a', branch: 'main' },
      { ref: 'b', branch: 'main' },
      { ref: 'c', branch: 'dev' },
    ]);
    const disabled = await cc(['disable-resource-version', '-r', 'app/repo', '-v', 'branch:main'], env);
    expect(disabled).toMatchObject({ code: 0, stdout: 'disabled version {"ref":"b","branch":"main"}\n' });
    expect(await enabledByRef()).toEqual({ a: true, b: false, c: true });

    const enabled = await cc(['erv', '-r', 'app/repo', '-v', 'ref:b', '-v', 'branch:main'], env);
    expect(enabled).toMatchObject({ code: 0, stdout: 'enabled version {"ref":"b","branch":"main"}\n' });
    expect(await enabledByRef()).toEqual({ a: true, b: true, c: true });
  });

  it('finds a version on a later page, and prints the version with --json', async () => {
    // 150 versions: r0 is on the second page of 100.
    const [r0] = api.world.addVersions(
      repo,
      Array.from({ length: 150 }, (_, i) => ({ ref: `r${i}` })),
    );
    const disabled = await cc(['drv', '-r', 'app/repo', '-v', 'ref:r0', '--json'], env);
    expect(disabled.code).toBe(0);
    expect(JSON.parse(disabled.stdout)).toEqual({ ...r0, enabled: false });
    expect((await enabledByRef()).r0).toBe(false);

    const enabled = await cc(['enable-resource-version', '-r', 'app/repo', '-v', 'ref:r0', '--json'], env);
    expect(enabled.code).toBe(0);
    expect(JSON.parse(enabled.stdout)).toEqual({ ...r0, enabled: true });
    expect((await enabledByRef()).r0).toBe(true);
  });

  it('names a version that matches none, and changes nothing', async () => {
    api.world.addVersions(repo, [{ ref: 'a' }]);
    const none = await cc(['disable-resource-version', '-r', 'app/repo', '-v', 'ref:nope'], env);
    expect(none.code).toBe(1);
    expect(none.stdout).toBe('');
    expect(none.stderr).toContain('no version of app/repo matches {"ref":"nope"}');
    expect(none.stderr).toContain('`cc resource-versions -r app/repo` lists its versions');
    expect(none.stderr).toContain('Code: CC_E_CLI_NOT_FOUND');
    expect(await enabledByRef()).toEqual({ a: true });

    const json = await cc(['enable-resource-version', '-r', 'app/repo', '-v', 'ref:nope', '--json'], env);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout).error).toMatchObject({
      code: 'CC_E_CLI_NOT_FOUND',
      details: { version: { ref: 'nope' } },
    });
  });

  it('fails with the server’s code for a missing resource, and on malformed flags', async () => {
    const resource = await cc(['drv', '-r', 'app/nope', '-v', 'ref:a', '--json'], env);
    expect(resource.code).toBe(1);
    expect(JSON.parse(resource.stdout).error).toMatchObject({
      code: 'CC_E_CLI_API_ERROR',
      details: { serverCode: 'CC_E_API_RESOURCE_NOT_FOUND' },
    });

    const pair = await cc(['drv', '-r', 'app/repo', '-v', 'ref'], env);
    expect(pair.code).toBe(2);
    expect(pair.stderr).toContain('is not KEY:VALUE');

    const noVersion = await cc(['erv', '-r', 'app/repo'], env);
    expect(noVersion.code).toBe(2);
    expect(noVersion.stderr).toContain('CC_E_CLI_USAGE');
  });
});
