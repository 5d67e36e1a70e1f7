import {
  archivePipeline,
  destroyPipeline,
  finishBuild,
  getPipeline,
  getResource,
  listBuildInputs,
  listJobBuilds,
  listJobs,
  listPipelines,
  listResources,
  listResourceVersions,
  pausePipeline,
  pinResourceVersion,
  savePipeline,
  setResourceVersionEnabled,
  unpausePipeline,
  unpinResource,
} from '@conveyor/core/db';
import { isConveyorError } from '@conveyor/core/errors';
import { scheduleJob } from '@conveyor/core/scheduler';
import { createTestDatabase, type TestDatabase } from '@conveyor/test/harness/database.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addVersions, createPipeline, ids, input, job, model, resource } from '../scheduler/fixtures.js';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.drop();
});

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

const versionsOf = async (resourceId: number) =>
  (await listResourceVersions(database.pool, resourceId)).items.map((row) => row.version.v);

describe('savePipeline', () => {
  it('creates a paused pipeline with its jobs, resources and inputs', async () => {
    const first = model(
      [resource('repo'), resource('image')],
      [job('build', [input('repo'), input('image')])],
    );
    const result = await savePipeline(database.pool, {
      team: 'main',
      name: 'create',
      model: first,
      configText: 'jobs: []\n',
    });
    expect(result).toMatchObject({ created: true, version: 1 });

    const pipeline = await getPipeline(database.pool, 'main', 'create');
    expect(pipeline).toMatchObject({
      id: result.pipelineId,
      paused: true,
      archived: false,
      config_version: 1,
    });
    expect(pipeline?.config_text).toBe('jobs: []\n');
    expect(pipeline?.config).toEqual(first);

    const jobs = await listJobs(database.pool, result.pipelineId);
    expect(jobs.map((row) => row.name)).toEqual(['build']);
    expect(jobs[0]).toMatchObject({ finished_build: null, next_build: null, active: true });
    const resources = await listResources(database.pool, result.pipelineId);
    expect(resources.map((row) => [row.name, row.check_every_ms])).toEqual([
      ['repo', 60_000],
      ['image', 60_000],
    ]);
  });

  it('bumps the version on update and refuses a save based on an old version', async () => {
    const config = model([resource('repo')], [job('build', [input('repo')])]);
    const created = await savePipeline(database.pool, { team: 'main', name: 'versions', model: config });
    const updated = await savePipeline(database.pool, {
      team: 'main',
      name: 'versions',
      model: config,
      expectedVersion: created.version,
    });
    expect(updated).toMatchObject({ created: false, version: 2, pipelineId: created.pipelineId });

    const stale = await rejection(
      savePipeline(database.pool, { team: 'main', name: 'versions', model: config, expectedVersion: 1 }),
    );
    expect(isConveyorError(stale, 'CC_E_SCHEDULER_PIPELINE_CONFLICT')).toBe(true);
    expect(String((stale as Error).message)).toContain('version 2');

    const missing = await rejection(
      savePipeline(database.pool, { team: 'main', name: 'never-set', model: config, expectedVersion: 1 }),
    );
    expect(isConveyorError(missing, 'CC_E_SCHEDULER_PIPELINE_CONFLICT')).toBe(true);
    expect(await getPipeline(database.pool, 'main', 'never-set')).toBeNull();
  });

  it('lets exactly one of two concurrent saves of the same version win', async () => {
    const config = model([resource('repo')], [job('build', [input('repo')])]);
    const { version } = await savePipeline(database.pool, { team: 'main', name: 'race', model: config });
    const results = await Promise.allSettled([
      savePipeline(database.pool, { team: 'main', name: 'race', model: config, expectedVersion: version }),
      savePipeline(database.pool, { team: 'main', name: 'race', model: config, expectedVersion: version }),
    ]);
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
    const failed = results.find((result) => result.status === 'rejected');
    expect(isConveyorError(failed?.reason, 'CC_E_SCHEDULER_PIPELINE_CONFLICT')).toBe(true);
  });

  it('refuses an unknown team and a model that names undeclared resources', async () => {
    const config = model([resource('repo')], [job('build', [input('repo')])]);
    const noTeam = await rejection(savePipeline(database.pool, { team: 'nobody', name: 'x', model: config }));
    expect(isConveyorError(noTeam, 'CC_E_SCHEDULER_TEAM_NOT_FOUND')).toBe(true);
    const broken = model([], [job('build', [input('repo')])]);
    const inconsistent = await rejection(
      savePipeline(database.pool, { team: 'main', name: 'x', model: broken }),
    );
    expect(isConveyorError(inconsistent, 'CC_E_SCHEDULER_MODEL_INCONSISTENT')).toBe(true);
  });

  it('keeps versions when type and source stay, and starts a new history when the source changes', async () => {
    const before = model([resource('repo', { source: { uri: 'a' } })], [job('build', [input('repo')])]);
    const saved = await createPipeline(database.pool, before);
    const repo = saved.resources.repo as number;
    await addVersions(database.pool, repo, ['v1', 'v2']);
    const scheduled = await scheduleJob(database.pool, saved.jobs.build as number);
    expect(scheduled.outcome).toBe('created');

    // Same type and source (other settings changed): the versions stay.
    await savePipeline(database.pool, {
      team: 'main',
      name: saved.name,
      model: model(
        [resource('repo', { source: { uri: 'a' }, checkEveryMs: 5_000 })],
        [job('build', [input('repo')])],
      ),
    });
    expect(await versionsOf(repo)).toEqual(['v2', 'v1']);

    // A new source: an empty history; the old build still shows the version it used.
    await pinResourceVersion(database.pool, repo, { version: { v: 'v1' } });
    await savePipeline(database.pool, {
      team: 'main',
      name: saved.name,
      model: model([resource('repo', { source: { uri: 'b' } })], [job('build', [input('repo')])]),
    });
    expect(await versionsOf(repo)).toEqual([]);
    expect((await getResource(database.pool, repo))?.pinned_version_id).toBeNull();
    const builds = await listJobBuilds(database.pool, saved.jobs.build as number);
    const inputs = await listBuildInputs(database.pool, builds.items[0]?.id as number);
    expect(inputs.map((row) => [row.name, row.version.v])).toEqual([['repo', 'v2']]);

    // The same version found again in the new history is a new version there.
    await addVersions(database.pool, repo, ['v2']);
    expect(await versionsOf(repo)).toEqual(['v2']);
  });

  it('renames a resource through old_name, keeping its versions', async () => {
    const saved = await createPipeline(
      database.pool,
      model([resource('repo')], [job('build', [input('repo')])]),
    );
    await addVersions(database.pool, saved.resources.repo as number, ['v1']);
    await savePipeline(database.pool, {
      team: 'main',
      name: saved.name,
      model: model([resource('source', { oldName: 'repo' })], [job('build', [input('source')])]),
    });
    const now = await ids(database.pool, saved.pipelineId);
    expect(now.resources).toEqual({ source: saved.resources.repo });
    expect(await versionsOf(now.resources.source as number)).toEqual(['v1']);
  });

  it('deactivates removed jobs and resources, keeps their builds, and renames jobs through old_name', async () => {
    const saved = await createPipeline(
      database.pool,
      model([resource('repo'), resource('old')], [job('unit', [input('repo')]), job('gone', [input('old')])]),
    );
    await addVersions(database.pool, saved.resources.repo as number, ['v1']);
    await scheduleJob(database.pool, saved.jobs.unit as number);
    await savePipeline(database.pool, {
      team: 'main',
      name: saved.name,
      model: model([resource('repo')], [job('test', [input('repo')], { oldName: 'unit' })]),
    });

    const now = await ids(database.pool, saved.pipelineId);
    expect(now.jobs.test).toBe(saved.jobs.unit);
    const builds = await listJobBuilds(database.pool, now.jobs.test as number);
    expect(builds.items.map((build) => build.job_name)).toEqual(['test']);
    expect((await listJobs(database.pool, saved.pipelineId)).map((row) => row.name)).toEqual(['test']);
    expect((await listResources(database.pool, saved.pipelineId)).map((row) => row.name)).toEqual(['repo']);
    const { rows } = await database.pool.query('SELECT active FROM jobs WHERE id = $1', [saved.jobs.gone]);
    expect(rows).toEqual([{ active: false }]);
  });
});

describe('pipeline lifecycle', () => {
  it('pauses, unpauses, archives and destroys', async () => {
    const saved = await createPipeline(
      database.pool,
      model([resource('repo')], [job('build', [input('repo')])]),
    );
    await pausePipeline(database.pool, saved.pipelineId, 'alice');
    expect(await getPipeline(database.pool, 'main', saved.name)).toMatchObject({
      paused: true,
      paused_by: 'alice',
    });
    await unpausePipeline(database.pool, saved.pipelineId);
    expect(await getPipeline(database.pool, 'main', saved.name)).toMatchObject({
      paused: false,
      paused_by: null,
    });

    await archivePipeline(database.pool, saved.pipelineId);
    expect(await getPipeline(database.pool, 'main', saved.name)).toMatchObject({
      paused: true,
      archived: true,
    });
    const refused = await rejection(unpausePipeline(database.pool, saved.pipelineId));
    expect(isConveyorError(refused, 'CC_E_SCHEDULER_PIPELINE_ARCHIVED')).toBe(true);

    // Setting it again brings it back, paused.
    const again = await savePipeline(database.pool, {
      team: 'main',
      name: saved.name,
      model: model([resource('repo')], [job('build', [input('repo')])]),
    });
    expect(again.created).toBe(false);
    expect(await getPipeline(database.pool, 'main', saved.name)).toMatchObject({
      paused: true,
      archived: false,
    });

    expect((await listPipelines(database.pool, { team: 'main' })).map((row) => row.name)).toContain(
      saved.name,
    );
    expect(await destroyPipeline(database.pool, saved.pipelineId)).toBe(true);
    expect(await getPipeline(database.pool, 'main', saved.name)).toBeNull();
    expect(await destroyPipeline(database.pool, saved.pipelineId)).toBe(false);
  });

  it('lists jobs with their latest finished build and their next build', async () => {
    const saved = await createPipeline(
      database.pool,
      model([resource('repo')], [job('build', [input('repo')])]),
    );
    const repo = saved.resources.repo as number;
    const jobId = saved.jobs.build as number;
    await addVersions(database.pool, repo, ['v1']);
    const first = await scheduleJob(database.pool, jobId);
    if (first.outcome !== 'created') throw new Error(`expected a build, got ${first.outcome}`);
    await finishBuild(database.pool, first.build.id, 'failed');
    await addVersions(database.pool, repo, ['v2']);
    const second = await scheduleJob(database.pool, jobId);
    if (second.outcome !== 'created') throw new Error(`expected a build, got ${second.outcome}`);

    const [row] = await listJobs(database.pool, saved.pipelineId);
    expect(row?.finished_build).toMatchObject({ id: first.build.id, name: '1', status: 'failed' });
    expect(row?.finished_build?.end_time).toBeInstanceOf(Date);
    expect(row?.next_build).toMatchObject({ id: second.build.id, name: '2', status: 'pending' });
  });
});

describe('resources', () => {
  it('pages versions newest first and pins, unpins, enables and disables them', async () => {
    const saved = await createPipeline(
      database.pool,
      model([resource('repo')], [job('build', [input('repo')])]),
    );
    const repo = saved.resources.repo as number;
    const [v1, v2, v3, v4, v5] = await addVersions(database.pool, repo, ['v1', 'v2', 'v3', 'v4', 'v5']);

    const first = await listResourceVersions(database.pool, repo, { limit: 2 });
    expect(first.items.map((row) => row.id)).toEqual([v5, v4]);
    expect(first).toMatchObject({ hasOlder: true, hasNewer: false });
    const second = await listResourceVersions(database.pool, repo, { limit: 2, before: v4 });
    expect(second.items.map((row) => row.id)).toEqual([v3, v2]);
    expect(second).toMatchObject({ hasOlder: true, hasNewer: true });
    const last = await listResourceVersions(database.pool, repo, { limit: 2, before: v2 });
    expect(last.items.map((row) => row.id)).toEqual([v1]);
    expect(last).toMatchObject({ hasOlder: false, hasNewer: true });
    const back = await listResourceVersions(database.pool, repo, { limit: 2, since: v2 });
    expect(back.items.map((row) => row.id)).toEqual([v4, v3]);
    expect(back).toMatchObject({ hasOlder: true, hasNewer: true });

    const pinned = await pinResourceVersion(database.pool, repo, { version: { v: 'v2' }, comment: 'hold' });
    expect(pinned.id).toBe(v2);
    expect(await getResource(database.pool, repo)).toMatchObject({
      pinned_version_id: v2,
      pinned_version: { v: 'v2' },
      pin_comment: 'hold',
    });
    const unknown = await rejection(pinResourceVersion(database.pool, repo, { version: { v: 'nope' } }));
    expect(isConveyorError(unknown, 'CC_E_SCHEDULER_VERSION_NOT_FOUND')).toBe(true);
    await unpinResource(database.pool, repo);
    expect(await getResource(database.pool, repo)).toMatchObject({
      pinned_version_id: null,
      pinned_version: null,
    });

    await setResourceVersionEnabled(database.pool, repo, v3 as number, false);
    const all = await listResourceVersions(database.pool, repo);
    expect(all.items.find((row) => row.id === v3)?.enabled).toBe(false);
  });

  it('refuses an API pin on a resource pinned in the config', async () => {
    const saved = await createPipeline(
      database.pool,
      model([resource('repo', { pinnedVersion: { v: 'v1' } })], [job('build', [input('repo')])]),
    );
    const repo = saved.resources.repo as number;
    await addVersions(database.pool, repo, ['v1']);
    expect((await getResource(database.pool, repo))?.config_pinned_version).toEqual({ v: 'v1' });
    const refused = await rejection(pinResourceVersion(database.pool, repo, { version: { v: 'v1' } }));
    expect(isConveyorError(refused, 'CC_E_SCHEDULER_RESOURCE_PINNED_IN_CONFIG')).toBe(true);
  });
});
