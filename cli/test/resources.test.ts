import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { adminToken, cc, startApi, type TestApi, tempHome } from './helpers.js';

const config = `resources:
  - name: repo
    type: git
  - name: fixed
    type: mock
    version: { ref: pinned }
jobs:
  - name: unit
    plan:
      - get: repo
`;

let api: TestApi;
let env: Record<string, string>;
let cleanupHome: () => Promise<void>;
const repo = { team: 'main', pipeline: 'app', resource: 'repo' };

beforeAll(async () => {
  api = await startApi();
  const { home, cleanup } = await tempHome();
  cleanupHome = cleanup;
  env = { CONVEYOR_HOME: home, CONVEYOR_URL: api.url, CONVEYOR_TOKEN: adminToken };
});
afterAll(async () => {
  await api.close();
  await cleanupHome();
});
beforeEach(async () => {
  await api.world.services.pipelines.delete({ team: 'main', pipeline: 'app' }).catch(() => {});
  await api.world.services.pipelines.setConfig({ team: 'main', pipeline: 'app' }, { config, by: 'test' });
});

describe('cc resources and cc resource-versions', () => {
  it('lists resources with their type, pin and check state', async () => {
    api.world.addVersions(repo, [{ ref: 'a' }]);
    const { code, stdout } = await cc(['resources', '-p', 'app'], env);
    expect(code).toBe(0);
    expect(stdout.trimEnd().split('\n')).toEqual([
      'NAME   TYPE  PINNED      CHECK',
      'repo   git   n/a         ok',
      'fixed  mock  ref:pinned  n/a',
    ]);
    const json = await cc(['resources', '-p', 'app', '--json'], env);
    expect(JSON.parse(json.stdout)).toEqual(
      await api.world.services.resources.list({ team: 'main', pipeline: 'app' }),
    );
  });

  it('lists versions newest first, as many as -c asks', async () => {
    const [a, b, c] = api.world.addVersions(repo, [{ ref: 'a' }, { ref: 'b', extra: 'x' }, { ref: 'c' }]);
    await api.world.services.resources.disableVersion(repo, b?.id ?? 0);
    const { code, stdout } = await cc(['resource-versions', '-r', 'app/repo', '-c', '2'], env);
    expect(code).toBe(0);
    expect(stdout.trimEnd().split('\n')).toEqual([
      'ID  VERSION        ENABLED',
      `${c?.id}   ref:c          yes`,
      `${b?.id}   extra:x,ref:b  no`,
    ]);
    const json = await cc(['resource-versions', '-r', 'app/repo', '--json'], env);
    expect((JSON.parse(json.stdout) as Array<{ id: number }>).map((v) => v.id)).toEqual([
      c?.id,
      b?.id,
      a?.id,
    ]);
  });
});

describe('cc check-resource', () => {
  it('waits for the check and prints the versions it found', async () => {
    api.world.setNextCheck(repo, { versions: [{ ref: 'a' }, { ref: 'b' }] });
    const { code, stdout } = await cc(['check-resource', '-r', 'app/repo'], env);
    expect(code).toBe(0);
    expect(stdout).toBe('checking app/repo\nfound 2 versions:\n  ref:b\n  ref:a\nsucceeded\n');
    expect(api.world.checkCalls.at(-1)).toBeUndefined();
  });

  it('checks from the version given with -f, and prints the outcome as JSON', async () => {
    api.world.setNextCheck(repo, { versions: [{ ref: 'c', path: 'x:y' }] });
    const { code, stdout } = await cc(
      ['check-resource', '-r', 'app/repo', '-f', 'ref:b', '-f', 'path:x:y', '--json'],
      env,
    );
    expect(code).toBe(0);
    expect(api.world.checkCalls.at(-1)).toEqual({ ref: 'b', path: 'x:y' });
    expect(JSON.parse(stdout)).toMatchObject({
      versions: [{ version: { ref: 'c', path: 'x:y' }, enabled: true }],
    });
  });

  it('fails with the check’s own error and the server’s code', async () => {
    api.world.setNextCheck(repo, { error: 'repository not found: git@example.com:app.git' });
    const { code, stdout, stderr } = await cc(['check-resource', '-r', 'app/repo'], env);
    expect(code).toBe(1);
    expect(stdout).toBe('checking app/repo\n');
    expect(stderr).toContain('CC_E_API_CHECK_FAILED');
    expect(stderr).toContain('repository not found');

    const malformed = await cc(['check-resource', '-r', 'app/repo', '-f', 'ref'], env);
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toContain('is not KEY:VALUE');
  });
});

describe('cc pin-resource and cc unpin-resource', () => {
  it('pins the newest version whose fields match, following pages, and unpins it', async () => {
    // 150 versions: the oldest match is on the second page of 100.
    api.world.addVersions(
      repo,
      Array.from({ length: 150 }, (_, i) => ({ ref: `r${i}`, branch: i % 2 === 0 ? 'main' : 'dev' })),
    );
    const oldest = await cc(['pin-resource', '-r', 'app/repo', '-v', 'ref:r0'], env);
    expect(oldest).toMatchObject({
      code: 0,
      stdout: `pinned 'app/repo' with version {"ref":"r0","branch":"main"}\n`,
    });

    const newestDev = await cc(['pin-resource', '-r', 'app/repo', '-v', 'branch:dev', '--json'], env);
    expect(newestDev.code).toBe(0);
    expect(JSON.parse(newestDev.stdout)).toMatchObject({ name: 'repo', pinned_version: { ref: 'r149' } });

    const none = await cc(['pin-resource', '-r', 'app/repo', '-v', 'ref:nope'], env);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('no version of app/repo matches {"ref":"nope"}');
    expect(none.stderr).toContain('Code: CC_E_CLI_NOT_FOUND');

    const unpinned = await cc(['unpin-resource', '-r', 'app/repo'], env);
    expect(unpinned).toMatchObject({ code: 0, stdout: "unpinned 'app/repo'\n" });
    expect((await api.world.services.resources.get(repo)).pinned_version).toBeUndefined();
  });

  it('cannot unpin a version pinned in the config, and says so with the server’s code', async () => {
    const { code, stdout } = await cc(['unpin-resource', '-r', 'app/fixed', '--json'], env);
    expect(code).toBe(1);
    expect(JSON.parse(stdout).error.details.serverCode).toBe('CC_E_API_RESOURCE_PINNED_IN_CONFIG');
    const malformed = await cc(['unpin-resource', '-r', 'fixed'], env);
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toContain('is not PIPELINE/RESOURCE');
  });
});
