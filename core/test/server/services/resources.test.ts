import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rejectionOf, type ServicesWorld, setPipeline, startWorld } from './helpers.js';

let world: ServicesWorld;

const config = `resources:
- name: repo
  type: mock
  icon: git
  source: {initial_version: v1}
- name: broken
  type: mock
  source: {check_failure: the remote is down}
- name: fixed
  type: mock
  version: {version: v9}
  source: {initial_version: v9}

jobs:
- name: unit
  plan:
  - get: repo
  - get: broken
  - get: fixed
`;

const pipeline = { team: 'main', pipeline: 'app' };
const repo = { ...pipeline, resource: 'repo' };
const fixed = { ...pipeline, resource: 'fixed' };
const signal = () => new AbortController().signal;

beforeAll(async () => {
  world = await startWorld();
  await setPipeline(world, 'app', config);
});

afterAll(async () => {
  await world?.close();
});

describe('ResourceService', () => {
  it('lists the resources in config order, unchecked at first', async () => {
    const resources = await world.services.resources.list(pipeline);
    expect(resources.map((r) => r.name)).toEqual(['repo', 'broken', 'fixed']);
    expect(resources[0]).toEqual({
      name: 'repo',
      team_name: 'main',
      pipeline_name: 'app',
      type: 'mock',
      icon: 'git',
      failing_to_check: false,
    });
    expect(resources[2]).toMatchObject({ pinned_version: { version: 'v9' }, pinned_in_config: true });
  });

  it('checks a resource now and pages through its versions newest first', async () => {
    const { resources } = world.services;
    const first = await resources.check(repo, { signal: signal() });
    expect(first.versions).toEqual([
      { id: expect.any(Number), version: { version: 'v1' }, metadata: [], enabled: true },
    ]);
    expect(first.last_checked).toBeGreaterThan(Date.now() / 1000 - 60);
    // The mock reports the version it is given, so each check from a new one adds it.
    for (const version of ['v2', 'v3', 'v4']) {
      const checked = await resources.check(repo, { from: { version }, signal: signal() });
      expect(checked.versions[0]?.version).toEqual({ version });
    }

    const got = await resources.get(repo);
    expect(got).toMatchObject({ failing_to_check: false, last_checked: expect.any(Number) });

    const newest = await resources.listVersions(repo, { limit: 2 });
    expect(newest.items.map((v) => v.version.version)).toEqual(['v4', 'v3']);
    expect(newest).toMatchObject({ hasOlder: true, hasNewer: false });
    const older = await resources.listVersions(repo, { limit: 2, before: newest.items[1]!.id });
    expect(older.items.map((v) => v.version.version)).toEqual(['v2', 'v1']);
    expect(older).toMatchObject({ hasOlder: false, hasNewer: true });
    const newer = await resources.listVersions(repo, { limit: 1, since: older.items[0]!.id });
    expect(newer.items.map((v) => v.version.version)).toEqual(['v3']);
  });

  it('rejects a failed check with the check’s message and shows the failure on the resource', async () => {
    const broken = { ...pipeline, resource: 'broken' };
    const error = await rejectionOf(world.services.resources.check(broken, { signal: signal() }));
    expect(error.code).toBe('CC_E_API_CHECK_FAILED');
    expect(error.status).toBe(502);
    expect(error.message).toContain('the remote is down');
    const resource = await world.services.resources.get(broken);
    expect(resource.failing_to_check).toBe(true);
    expect(resource.check_error).toContain('the remote is down');
  });

  it('pins and unpins a version, and refuses both where the config pins', async () => {
    const { resources } = world.services;
    const [, v3] = (await resources.listVersions(repo, { limit: 10 })).items;
    const pinned = await resources.pin(repo, v3!.id, 'jo');
    expect(pinned).toMatchObject({ pinned_version: { version: 'v3' } });
    expect(pinned).not.toHaveProperty('pinned_in_config');
    const unpinned = await resources.unpin(repo);
    expect(unpinned).not.toHaveProperty('pinned_version');

    const missing = await rejectionOf(resources.pin(repo, 987_654, 'jo'));
    expect(missing.code).toBe('CC_E_API_RESOURCE_VERSION_NOT_FOUND');

    await resources.check(fixed, { signal: signal() });
    const [v9] = (await resources.listVersions(fixed, { limit: 1 })).items;
    expect((await rejectionOf(resources.pin(fixed, v9!.id, 'jo'))).code).toBe(
      'CC_E_API_RESOURCE_PINNED_IN_CONFIG',
    );
    expect((await rejectionOf(resources.unpin(fixed))).code).toBe('CC_E_API_RESOURCE_PINNED_IN_CONFIG');
  });

  it('disables and enables a version', async () => {
    const { resources } = world.services;
    const [v4] = (await resources.listVersions(repo, { limit: 1 })).items;
    expect(await resources.disableVersion(repo, v4!.id)).toEqual({ ...v4, enabled: false });
    expect((await resources.listVersions(repo, { limit: 1 })).items[0]?.enabled).toBe(false);
    expect(await resources.enableVersion(repo, v4!.id)).toEqual({ ...v4, enabled: true });
    // A version of another resource is not one of this one's.
    const [v9] = (await resources.listVersions(fixed, { limit: 1 })).items;
    const error = await rejectionOf(resources.disableVersion(repo, v9!.id));
    expect(error.code).toBe('CC_E_API_RESOURCE_VERSION_NOT_FOUND');
  });

  it('reports the outermost missing part of a resource path', async () => {
    const { resources } = world.services;
    expect((await rejectionOf(resources.get({ ...pipeline, resource: 'nope' }))).code).toBe(
      'CC_E_API_RESOURCE_NOT_FOUND',
    );
    expect(
      (
        await rejectionOf(
          resources.check({ team: 'main', pipeline: 'nope', resource: 'repo' }, { signal: signal() }),
        )
      ).code,
    ).toBe('CC_E_API_PIPELINE_NOT_FOUND');
  });
});
