import {
  applyTrackedChanges,
  type BuildRow,
  claimStartableBuild,
  claimStartableBuilds,
  createOneOffBuild,
  deleteContainerRecord,
  deleteVolumeRecord,
  finishBuild,
  finishBuilds,
  getBuild,
  heartbeatBuild,
  listBuildInputs,
  listBuildOutputs,
  listBuilds,
  listContainerRecords,
  listJobBuilds,
  listVolumeRecords,
  pauseJob,
  recordContainer,
  recordVolume,
  recoverInterruptedBuilds,
  requestBuildAbort,
  rerunBuild,
  saveBuildOutput,
  setContainerState,
  unpauseJob,
} from '@conveyor/core/db';
import { isConveyorError } from '@conveyor/core/errors';
import { readEvents } from '@conveyor/core/events';
import { triggerJob } from '@conveyor/core/scheduler';
import { createTestDatabase, type TestDatabase } from '@conveyor/test/harness/database.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { addVersions, createPipeline, input, job, model, resource } from '../scheduler/fixtures.js';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.drop();
});

// Every test starts with no startable build left over from another.
beforeEach(async () => {
  await database.pool.query(`UPDATE builds SET status = 'aborted' WHERE status IN ('pending', 'started')`);
});

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

const LEASE = 60_000;

/** A pipeline with one job per entry (each getting the resource `repo`, which has one version). */
async function jobsWith(specs: Record<string, Parameters<typeof job>[2]>) {
  const saved = await createPipeline(
    database.pool,
    model(
      [resource('repo')],
      Object.entries(specs).map(([name, overrides]) => job(name, [input('repo')], overrides)),
    ),
  );
  await addVersions(database.pool, saved.resources.repo as number, ['v1']);
  return saved;
}

async function trigger(jobId: number, times = 1): Promise<BuildRow[]> {
  const builds: BuildRow[] = [];
  for (let i = 0; i < times; i++) builds.push(await triggerJob(database.pool, jobId, { by: 'tester' }));
  return builds;
}

/** Claims until nothing more can start; resolves the ids claimed. */
async function claimAll(owner = 'web-1'): Promise<number[]> {
  const claimed: number[] = [];
  for (;;) {
    const build = await claimStartableBuild(database.pool, owner, LEASE);
    if (build === null) return claimed;
    claimed.push(build.id);
  }
}

describe('job builds', () => {
  it('numbers builds per job and names reruns after the original', async () => {
    const saved = await jobsWith({ unit: {}, lint: {} });
    const [b1, b2] = await trigger(saved.jobs.unit as number, 2);
    const [other] = await trigger(saved.jobs.lint as number);
    expect([b1?.name, b2?.name, other?.name]).toEqual(['1', '2', '1']);
    expect(b1).toMatchObject({
      status: 'pending',
      manually_triggered: true,
      created_by: 'tester',
      job_name: 'unit',
    });

    const rerun1 = await rerunBuild(database.pool, b1?.id as number, { createdBy: 'bob' });
    const rerun2 = await rerunBuild(database.pool, rerun1.id);
    expect([rerun1.name, rerun2.name]).toEqual(['1.1', '1.2']);
    expect(rerun2).toMatchObject({ rerun_of: b1?.id, rerun_of_name: '1' });
    const inputs = async (id: number) =>
      (await listBuildInputs(database.pool, id)).map((row) => [row.name, row.resource_version_id]);
    expect(await inputs(rerun2.id)).toEqual(await inputs(b1?.id as number));
    expect((await listBuildInputs(database.pool, rerun1.id))[0]?.first_occurrence).toBe(false);

    const page = await listJobBuilds(database.pool, saved.jobs.unit as number, { limit: 3 });
    expect(page.items.map((build) => build.name)).toEqual(['1.2', '1.1', '2']);
    expect(page.hasOlder).toBe(true);
  });

  it('names one-off builds by their id and refuses to rerun them', async () => {
    const build = await createOneOffBuild(database.pool, {
      team: 'main',
      plan: { do: [] },
      createdBy: 'carol',
    });
    expect(build).toMatchObject({
      name: String(build.id),
      job_id: null,
      pipeline_id: null,
      plan: { do: [] },
    });
    const refused = await rejection(rerunBuild(database.pool, build.id));
    expect(isConveyorError(refused, 'CC_E_SCHEDULER_BUILD_NOT_RERUNNABLE')).toBe(true);
    const all = await listBuilds(database.pool, { team: 'main', limit: 1 });
    expect(all.items[0]?.id).toBe(build.id);
  });
});

describe('claimStartableBuild', () => {
  it('never hands one build to two concurrent claimers', async () => {
    const saved = await jobsWith({ wide: {} });
    const created = await trigger(saved.jobs.wide as number, 12);
    const claims = await Promise.all(Array.from({ length: 8 }, (_, i) => claimAll(`web-${i}`)));
    const claimed = claims.flat();
    expect(new Set(claimed).size).toBe(claimed.length);
    expect(claimed.sort((a, b) => a - b)).toEqual(created.map((build) => build.id).sort((a, b) => a - b));
    const started = await getBuild(database.pool, claimed[0] as number);
    expect(started).toMatchObject({ status: 'started' });
    expect(started?.lease_owner).toMatch(/^web-/);
    const events = await readEvents(database.pool, claimed[0] as number, -1);
    expect(events.map((stored) => stored.event)).toMatchObject([
      { event: 'status', data: { status: 'started' } },
    ]);
  });

  it('runs one build at a time for a serial job, oldest first, even with concurrent claimers', async () => {
    const saved = await jobsWith({ serial: { serial: true, maxInFlight: 1 } });
    const [b1, b2, b3] = await trigger(saved.jobs.serial as number, 3);
    const first = (await Promise.all([claimAll('a'), claimAll('b'), claimAll('c')])).flat();
    expect(first).toEqual([b1?.id]);
    await finishBuild(database.pool, b1?.id as number, 'succeeded');
    expect(await claimAll()).toEqual([b2?.id]);
    await finishBuild(database.pool, b2?.id as number, 'failed');
    expect(await claimAll()).toEqual([b3?.id]);
  });

  it('honours max_in_flight', async () => {
    const saved = await jobsWith({ two: { maxInFlight: 2 } });
    const [b1, b2, b3] = await trigger(saved.jobs.two as number, 3);
    expect(await claimAll()).toEqual([b1?.id, b2?.id]);
    await finishBuild(database.pool, b2?.id as number, 'succeeded');
    expect(await claimAll()).toEqual([b3?.id]);
  });

  it('runs one build at a time across the jobs of a serial group', async () => {
    const saved = await jobsWith({
      deploy: { serialGroups: ['env'] },
      migrate: { serialGroups: ['env'] },
      free: {},
    });
    const [deploy1] = await trigger(saved.jobs.deploy as number);
    const [migrate1] = await trigger(saved.jobs.migrate as number);
    const [deploy2] = await trigger(saved.jobs.deploy as number);
    const [free1] = await trigger(saved.jobs.free as number);
    expect(await claimAll()).toEqual([deploy1?.id, free1?.id]);
    await finishBuild(database.pool, deploy1?.id as number, 'succeeded');
    // The group's oldest pending build goes next, whichever job it belongs to.
    expect(await claimAll()).toEqual([migrate1?.id]);
    await finishBuild(database.pool, migrate1?.id as number, 'succeeded');
    expect(await claimAll()).toEqual([deploy2?.id]);
  });

  it('finds a startable build behind a long queue of blocked ones', async () => {
    const saved = await jobsWith({ busy: { maxInFlight: 1 }, quick: {} });
    const [first] = await trigger(saved.jobs.busy as number, 30);
    expect(await claimAll()).toEqual([first?.id]);
    const [quick] = await trigger(saved.jobs.quick as number);
    expect(await claimAll()).toEqual([quick?.id]);
  });

  it('starts no build of a paused job until it is unpaused', async () => {
    const saved = await jobsWith({ held: {} });
    const [build] = await trigger(saved.jobs.held as number);
    await pauseJob(database.pool, saved.jobs.held as number, 'dave');
    expect(await claimAll()).toEqual([]);
    await unpauseJob(database.pool, saved.jobs.held as number);
    expect(await claimAll()).toEqual([build?.id]);
  });
});

describe('claimStartableBuilds', () => {
  it('claims a batch in queue order, honouring max_in_flight and serial', async () => {
    const saved = await jobsWith({
      two: { maxInFlight: 2 },
      free: {},
      serial: { serial: true, maxInFlight: 1 },
    });
    const [two1, two2] = await trigger(saved.jobs.two as number, 3);
    const [free1, free2] = await trigger(saved.jobs.free as number, 2);
    const [serial1] = await trigger(saved.jobs.serial as number, 2);
    const claimed = await claimStartableBuilds(database.pool, 'web-1', LEASE, 10);
    // A job with limits gives one build per batch (its next one waits for the first to start).
    expect(claimed.map((build) => build.id)).toEqual([two1?.id, free1?.id, free2?.id, serial1?.id]);
    const next = await claimStartableBuilds(database.pool, 'web-1', LEASE, 10);
    expect(next.map((build) => build.id)).toEqual([two2?.id]);
    expect(claimed.every((build) => build.status === 'started' && build.lease_owner === 'web-1')).toBe(true);
    for (const build of claimed) {
      const events = await readEvents(database.pool, build.id, -1);
      expect(events.map((stored) => stored.event)).toMatchObject([
        { event: 'status', data: { status: 'started' } },
      ]);
    }
    expect(await claimStartableBuilds(database.pool, 'web-1', LEASE, 10)).toEqual([]);
  });

  it('stops at the limit and never hands a build to two concurrent batch claimers', async () => {
    const saved = await jobsWith({ wide: {} });
    const created = await trigger(saved.jobs.wide as number, 15);
    expect(await claimStartableBuilds(database.pool, 'web-0', LEASE, 4)).toHaveLength(4);
    const claimAllInBatches = async (owner: string) => {
      const ids: number[] = [];
      for (;;) {
        const batch = await claimStartableBuilds(database.pool, owner, LEASE, 3);
        if (batch.length === 0) return ids;
        ids.push(...batch.map((build) => build.id));
      }
    };
    const claimed = (await Promise.all(['a', 'b', 'c', 'd'].map(claimAllInBatches))).flat();
    expect(new Set(claimed).size).toBe(claimed.length);
    expect(claimed).toHaveLength(created.length - 4);
  });
});

describe('finishBuilds', () => {
  it('finishes several builds in one transaction, each with its final status event', async () => {
    const saved = await jobsWith({ many: {} });
    await trigger(saved.jobs.many as number, 2);
    const [a, b] = await claimStartableBuilds(database.pool, 'web-1', LEASE, 2);
    const finished = await finishBuilds(database.pool, [
      { buildId: a?.id as number, status: 'succeeded', owner: 'web-1' },
      { buildId: b?.id as number, status: 'failed', owner: 'web-1' },
    ]);
    expect(finished.map((build) => [build.id, build.status, build.lease_owner])).toEqual([
      [a?.id, 'succeeded', null],
      [b?.id, 'failed', null],
    ]);
    const last = async (id: number) => (await readEvents(database.pool, id, -1)).at(-1)?.event;
    expect(await last(a?.id as number)).toMatchObject({ event: 'status', data: { status: 'succeeded' } });
    expect(await last(b?.id as number)).toMatchObject({ event: 'status', data: { status: 'failed' } });
  });

  it('finishes none when one of them cannot finish', async () => {
    const saved = await jobsWith({ some: {} });
    await trigger(saved.jobs.some as number, 2);
    const [a, b] = await claimStartableBuilds(database.pool, 'web-1', LEASE, 2);
    await finishBuild(database.pool, b?.id as number, 'succeeded');
    const refused = await rejection(
      finishBuilds(database.pool, [
        { buildId: a?.id as number, status: 'succeeded' },
        { buildId: b?.id as number, status: 'failed' },
      ]),
    );
    expect(isConveyorError(refused, 'CC_E_SCHEDULER_BUILD_FINISHED')).toBe(true);
    expect((await getBuild(database.pool, a?.id as number))?.status).toBe('started');
  });
});

describe('applyTrackedChanges', () => {
  it('moves containers and volumes through creating, created, destroying and gone in batches', async () => {
    const build = await createOneOffBuild(database.pool, { team: 'main', plan: {} });
    const change = (
      kind: 'container' | 'volume',
      handle: string,
      state: 'creating' | 'created' | 'destroying' | 'gone',
    ) => ({
      kind,
      handle,
      state,
      plugin: kind === 'container' ? 'local' : 'naive',
      worker: 'local',
      buildId: build.id,
    });
    expect(
      await applyTrackedChanges(database.pool, [
        change('container', 'tc-1', 'creating'),
        change('volume', 'tv-1', 'creating'),
        change('container', 'tc-2', 'creating'),
      ]),
    ).toEqual([true, true, true]);
    expect(
      await applyTrackedChanges(database.pool, [
        change('container', 'tc-1', 'created'),
        change('volume', 'tv-1', 'destroying'),
        change('container', 'tc-2', 'gone'),
        change('container', 'tc-missing', 'created'),
      ]),
    ).toEqual([true, true, true, false]);
    const containers = await listContainerRecords(database.pool, { buildId: build.id });
    expect(containers.map((row) => [row.handle, row.state, row.runtime])).toEqual([
      ['tc-1', 'created', 'local'],
    ]);
    const volumes = await listVolumeRecords(database.pool, { buildId: build.id });
    expect(volumes.map((row) => [row.handle, row.state, row.driver])).toEqual([
      ['tv-1', 'destroying', 'naive'],
    ]);
  });
});

describe('build lifecycle', () => {
  it('heartbeats, finishes once, and tells a stale owner it lost the lease', async () => {
    const saved = await jobsWith({ life: {} });
    const [build] = await trigger(saved.jobs.life as number);
    const id = build?.id as number;
    expect(await heartbeatBuild(database.pool, id, 'web-1', LEASE)).toBeNull();
    await claimAll('web-1');
    expect(await heartbeatBuild(database.pool, id, 'web-1', LEASE)).toEqual({ abortRequested: false });
    expect(await heartbeatBuild(database.pool, id, 'web-2', LEASE)).toBeNull();

    const lost = await rejection(finishBuild(database.pool, id, 'succeeded', { owner: 'web-2' }));
    expect(isConveyorError(lost, 'CC_E_SCHEDULER_LEASE_LOST')).toBe(true);
    const finished = await finishBuild(database.pool, id, 'succeeded', { owner: 'web-1' });
    expect(finished).toMatchObject({ status: 'succeeded', lease_owner: null });
    expect(finished.end_time).toBeInstanceOf(Date);
    const twice = await rejection(finishBuild(database.pool, id, 'failed'));
    expect(isConveyorError(twice, 'CC_E_SCHEDULER_BUILD_FINISHED')).toBe(true);
    expect((await getBuild(database.pool, id))?.status).toBe('succeeded');

    const events = await readEvents(database.pool, id, -1);
    expect(
      events.map((stored) => [
        stored.id,
        stored.event.event,
        (stored.event.data as { status?: string }).status,
      ]),
    ).toEqual([
      [0, 'status', 'started'],
      [1, 'status', 'succeeded'],
    ]);
  });

  it('aborts a pending build at once and flags a started one for its executor', async () => {
    const saved = await jobsWith({ abort: { maxInFlight: 1 } });
    const [running, waiting] = await trigger(saved.jobs.abort as number, 2);
    await claimAll();

    const aborted = await requestBuildAbort(database.pool, waiting?.id as number);
    expect(aborted).toMatchObject({ status: 'aborted' });
    const events = await readEvents(database.pool, waiting?.id as number, -1);
    expect(events.map((stored) => stored.event)).toMatchObject([
      { event: 'status', data: { status: 'aborted' } },
    ]);

    const flagged = await requestBuildAbort(database.pool, running?.id as number);
    expect(flagged).toMatchObject({ status: 'started', abort_requested: true });
    expect(await heartbeatBuild(database.pool, running?.id as number, 'web-1', LEASE)).toEqual({
      abortRequested: true,
    });
    await finishBuild(database.pool, running?.id as number, 'aborted');
    // A finished build is answered as it is.
    expect(await requestBuildAbort(database.pool, running?.id as number)).toMatchObject({
      status: 'aborted',
    });
  });

  it('records put outputs as new versions of the resource and outputs of the build', async () => {
    const saved = await jobsWith({ push: {} });
    const [build] = await trigger(saved.jobs.push as number);
    const version = await saveBuildOutput(database.pool, build?.id as number, {
      name: 'repo',
      resource: 'repo',
      version: { v: 'v9' },
      metadata: [{ name: 'commit', value: 'abc' }],
    });
    expect(version).toMatchObject({ version: { v: 'v9' }, metadata: [{ name: 'commit', value: 'abc' }] });
    const outputs = await listBuildOutputs(database.pool, build?.id as number);
    expect(outputs.map((row) => [row.name, row.resource_name, row.version])).toEqual([
      ['repo', 'repo', { v: 'v9' }],
    ]);
  });
});

describe('recoverInterruptedBuilds', () => {
  it('errors a started build whose lease expired and hands its containers and volumes to gc', async () => {
    const saved = await jobsWith({ crash: {}, alive: {} });
    const [crashed] = await trigger(saved.jobs.crash as number);
    await claimAll('web-dead');
    const [alive] = await trigger(saved.jobs.alive as number);
    const id = crashed?.id as number;
    await recordContainer(database.pool, { handle: `c-${id}`, runtime: 'local', worker: 'w', buildId: id });
    await setContainerState(database.pool, `c-${id}`, 'created');
    await recordVolume(database.pool, {
      handle: `v-${id}`,
      driver: 'naive',
      worker: 'w',
      buildId: id,
      state: 'created',
    });

    // Nothing has expired yet.
    expect(await recoverInterruptedBuilds(database.pool)).toEqual([]);
    // An hour from now (past the one-minute lease) the build counts as interrupted.
    const later = new Date(Date.now() + 3_600_000);
    await claimAll('web-alive');
    const recovered = await recoverInterruptedBuilds(database.pool, later);
    expect(recovered.map((build) => build.id).sort()).toEqual([id, alive?.id].sort());
    expect(recovered.find((build) => build.id === id)?.owner).toBe('web-dead');

    expect(await getBuild(database.pool, id)).toMatchObject({ status: 'errored', lease_owner: null });
    const events = await readEvents(database.pool, id, -1);
    expect(events.map((stored) => stored.event.event)).toEqual(['status', 'error', 'status']);
    expect(events[1]?.event).toMatchObject({
      data: { message: expect.stringContaining('the server running this build stopped') },
    });
    expect(events[2]?.event).toMatchObject({ data: { status: 'errored' } });
    expect((await listContainerRecords(database.pool, { buildId: id })).map((row) => row.state)).toEqual([
      'destroying',
    ]);
    expect((await listVolumeRecords(database.pool, { buildId: id })).map((row) => row.state)).toEqual([
      'destroying',
    ]);

    // A late finish from the stopped server is refused.
    const late = await rejection(finishBuild(database.pool, id, 'succeeded', { owner: 'web-dead' }));
    expect(isConveyorError(late, 'CC_E_SCHEDULER_BUILD_FINISHED')).toBe(true);
    expect(await recoverInterruptedBuilds(database.pool, later)).toEqual([]);

    expect(await deleteContainerRecord(database.pool, `c-${id}`)).toBe(true);
    expect(await deleteVolumeRecord(database.pool, `v-${id}`)).toBe(true);
    expect(await deleteVolumeRecord(database.pool, `v-${id}`)).toBe(false);
  });
});
