import {
  type BuildRow,
  finishBuild,
  getJob,
  listBuildInputs,
  listJobBuilds,
  type Pool,
  pauseJob,
  pausePipeline,
  pinResourceVersion,
  saveBuildOutput,
  setResourceVersionEnabled,
  unpausePipeline,
  unpinResource,
} from '@conveyor/core/db';
import { isConveyorError } from '@conveyor/core/errors';
import { type ScheduleOutcome, scheduleJob, startScheduler, triggerJob } from '@conveyor/core/scheduler';
import { createTestDatabase, type TestDatabase } from '@conveyor/test/harness/database.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addVersions, createPipeline, input, job, model, resource } from './fixtures.js';

let database: TestDatabase;
let pool: Pool;

beforeAll(async () => {
  database = await createTestDatabase();
  pool = database.pool;
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

/** The build a scheduling pass made (or updated); fails the test otherwise. */
function built(outcome: ScheduleOutcome): BuildRow {
  if (outcome.outcome !== 'created' && outcome.outcome !== 'updated') {
    throw new Error(`expected a build, got ${JSON.stringify(outcome)}`);
  }
  return outcome.build;
}

/** The build's inputs as `name=version` strings. */
async function inputsOf(build: BuildRow): Promise<string[]> {
  return (await listBuildInputs(pool, build.id)).map((row) => `${row.name}=${row.version.v}`);
}

/** Schedules and finishes the job's build as succeeded: its inputs pass to the jobs downstream. */
async function pass(jobId: number): Promise<BuildRow> {
  const build = built(await scheduleJob(pool, jobId));
  await finishBuild(pool, build.id, 'succeeded');
  return build;
}

describe('latest', () => {
  it('builds the newest version once, and again for each newer one', async () => {
    const p = await createPipeline(pool, model([resource('repo')], [job('unit', [input('repo')])]));
    const unit = p.jobs.unit as number;
    const repo = p.resources.repo as number;

    const none = await scheduleJob(pool, unit);
    expect(none).toMatchObject({ outcome: 'waiting', input: 'repo' });
    expect((await getJob(pool, unit))?.schedule_failure).toContain('has no versions');

    await addVersions(pool, repo, ['v1', 'v2']);
    const first = built(await scheduleJob(pool, unit));
    expect(await inputsOf(first)).toEqual(['repo=v2']);
    expect((await listBuildInputs(pool, first.id))[0]?.first_occurrence).toBe(true);
    expect(first).toMatchObject({ name: '1', manually_triggered: false, created_by: null });
    expect(await scheduleJob(pool, unit)).toEqual({ outcome: 'unchanged' });

    await finishBuild(pool, first.id, 'succeeded');
    await addVersions(pool, repo, ['v3']);
    const second = built(await scheduleJob(pool, unit));
    expect(second.name).toBe('2');
    expect(await inputsOf(second)).toEqual(['repo=v3']);
  });

  it('gives a pending build newer versions instead of queueing another', async () => {
    const p = await createPipeline(
      pool,
      model([resource('repo')], [job('serial', [input('repo')], { maxInFlight: 1 })]),
    );
    const jobId = p.jobs.serial as number;
    await addVersions(pool, p.resources.repo as number, ['v1']);
    const pending = built(await scheduleJob(pool, jobId));
    await addVersions(pool, p.resources.repo as number, ['v2']);
    const outcome = await scheduleJob(pool, jobId);
    expect(outcome.outcome).toBe('updated');
    expect(built(outcome).id).toBe(pending.id);
    expect(await inputsOf(pending)).toEqual(['repo=v2']);
    expect((await listJobBuilds(pool, jobId)).items).toHaveLength(1);
  });

  it('makes no build for new versions of inputs without trigger', async () => {
    const p = await createPipeline(
      pool,
      model(
        [resource('repo'), resource('tools')],
        [job('unit', [input('repo'), input('tools', { trigger: false })])],
      ),
    );
    await addVersions(pool, p.resources.repo as number, ['r1']);
    await addVersions(pool, p.resources.tools as number, ['t1']);
    const first = built(await scheduleJob(pool, p.jobs.unit as number));
    expect(await inputsOf(first)).toEqual(['repo=r1', 'tools=t1']);
    await addVersions(pool, p.resources.tools as number, ['t2']);
    expect(await scheduleJob(pool, p.jobs.unit as number)).toEqual({ outcome: 'unchanged' });
  });

  it('skips disabled versions', async () => {
    const p = await createPipeline(pool, model([resource('repo')], [job('unit', [input('repo')])]));
    const [, v2] = await addVersions(pool, p.resources.repo as number, ['v1', 'v2']);
    await setResourceVersionEnabled(pool, p.resources.repo as number, v2 as number, false);
    expect(await inputsOf(built(await scheduleJob(pool, p.jobs.unit as number)))).toEqual(['repo=v1']);
  });
});

describe('every', () => {
  it('builds each version once, in order, where latest skips to the newest', async () => {
    const p = await createPipeline(
      pool,
      model(
        [resource('repo')],
        [job('each', [input('repo', { version: 'every' })]), job('newest', [input('repo')])],
      ),
    );
    const [each, newest] = [p.jobs.each as number, p.jobs.newest as number];
    const repo = p.resources.repo as number;
    await addVersions(pool, repo, ['v1']);
    // With no build yet, every starts at the newest version, as Concourse does.
    expect(await inputsOf(built(await scheduleJob(pool, each)))).toEqual(['repo=v1']);
    await pass(newest);

    await addVersions(pool, repo, ['v2', 'v3', 'v4']);
    const everyBuilds: string[][] = [];
    for (;;) {
      const outcome = await scheduleJob(pool, each);
      if (outcome.outcome === 'unchanged') break;
      everyBuilds.push(await inputsOf(built(outcome)));
    }
    expect(everyBuilds).toEqual([['repo=v2'], ['repo=v3'], ['repo=v4']]);

    expect(await inputsOf(built(await scheduleJob(pool, newest)))).toEqual(['repo=v4']);
    expect(await scheduleJob(pool, newest)).toEqual({ outcome: 'unchanged' });
  });
});

describe('pins', () => {
  it('uses the version pinned on the get step, then in the resource config, then through the API', async () => {
    const p = await createPipeline(
      pool,
      model(
        [resource('repo'), resource('lib', { pinnedVersion: { v: 'l1' } })],
        [
          job('step', [input('repo', { version: { v: 'v1' } })]),
          job('config', [input('lib')]),
          job('api', [input('repo')]),
        ],
      ),
    );
    const repo = p.resources.repo as number;
    await addVersions(pool, repo, ['v1', 'v2', 'v3']);
    await addVersions(pool, p.resources.lib as number, ['l1', 'l2']);

    expect(await inputsOf(built(await scheduleJob(pool, p.jobs.step as number)))).toEqual(['repo=v1']);
    expect(await inputsOf(built(await scheduleJob(pool, p.jobs.config as number)))).toEqual(['lib=l1']);

    await pinResourceVersion(pool, repo, { version: { v: 'v2' } });
    expect(await inputsOf(await triggerJob(pool, p.jobs.api as number))).toEqual(['repo=v2']);
    // The step's own pin wins over the API pin.
    expect(await inputsOf(await triggerJob(pool, p.jobs.step as number))).toEqual(['repo=v1']);
    await unpinResource(pool, repo);
    expect(await inputsOf(await triggerJob(pool, p.jobs.api as number))).toEqual(['repo=v3']);
  });

  it('waits while the pinned version does not exist', async () => {
    const p = await createPipeline(
      pool,
      model([resource('repo')], [job('step', [input('repo', { version: { v: 'later' } })])]),
    );
    await addVersions(pool, p.resources.repo as number, ['v1']);
    const waiting = await scheduleJob(pool, p.jobs.step as number);
    expect(waiting).toMatchObject({ outcome: 'waiting', input: 'repo' });
    await addVersions(pool, p.resources.repo as number, ['later']);
    expect(await inputsOf(built(await scheduleJob(pool, p.jobs.step as number)))).toEqual(['repo=later']);
  });
});

describe('passed', () => {
  it('passes a version down a chain only through the jobs that passed it', async () => {
    const p = await createPipeline(
      pool,
      model(
        [resource('repo')],
        [
          job('a', [input('repo')]),
          job('b', [input('repo', { passed: ['a'] })]),
          job('c', [input('repo', { passed: ['b'] })]),
        ],
      ),
    );
    const [a, b, c] = [p.jobs.a as number, p.jobs.b as number, p.jobs.c as number];
    await addVersions(pool, p.resources.repo as number, ['v1']);
    expect(await scheduleJob(pool, b)).toMatchObject({ outcome: 'waiting', input: 'repo' });

    const a1 = built(await scheduleJob(pool, a));
    // Not yet succeeded: nothing passed.
    expect((await scheduleJob(pool, b)).outcome).toBe('waiting');
    await finishBuild(pool, a1.id, 'succeeded');
    expect(await inputsOf(await pass(b))).toEqual(['repo=v1']);
    expect(await inputsOf(built(await scheduleJob(pool, c)))).toEqual(['repo=v1']);

    // v2 fails in a: b and c stay on v1.
    await addVersions(pool, p.resources.repo as number, ['v2']);
    const a2 = built(await scheduleJob(pool, a));
    await finishBuild(pool, a2.id, 'failed');
    expect(await scheduleJob(pool, b)).toEqual({ outcome: 'unchanged' });
  });

  it('lets a put output pass too', async () => {
    const p = await createPipeline(
      pool,
      model(
        [resource('repo'), resource('image')],
        [job('a', [input('repo')]), job('b', [input('image', { passed: ['a'] })])],
      ),
    );
    await addVersions(pool, p.resources.repo as number, ['v1']);
    const a1 = built(await scheduleJob(pool, p.jobs.a as number));
    await saveBuildOutput(pool, a1.id, { name: 'image', resource: 'image', version: { v: 'img-1' } });
    await finishBuild(pool, a1.id, 'succeeded');
    expect(await inputsOf(built(await scheduleJob(pool, p.jobs.b as number)))).toEqual(['image=img-1']);
  });

  it('fans in: a version must have passed every job, and inputs sharing a job come from one build', async () => {
    const p = await createPipeline(
      pool,
      model(
        [resource('repo'), resource('lib')],
        [
          job('unit', [input('repo'), input('lib')]),
          job('lint', [input('repo')]),
          job('ship', [input('repo', { passed: ['unit', 'lint'] }), input('lib', { passed: ['unit'] })]),
        ],
      ),
    );
    const [unit, lint, ship] = [p.jobs.unit as number, p.jobs.lint as number, p.jobs.ship as number];
    const repo = p.resources.repo as number;
    const lib = p.resources.lib as number;

    // unit#1 had r1 with l1; lint passed r1; then unit#2 had r2 with l2.
    await addVersions(pool, repo, ['r1']);
    await addVersions(pool, lib, ['l1']);
    expect(await inputsOf(await pass(unit))).toEqual(['lib=l1', 'repo=r1']);
    expect(await inputsOf(await pass(lint))).toEqual(['repo=r1']);
    await addVersions(pool, repo, ['r2']);
    await addVersions(pool, lib, ['l2']);
    expect(await inputsOf(await pass(unit))).toEqual(['lib=l2', 'repo=r2']);

    // Only r1 passed both unit and lint; lib must then come from the unit build that had r1 (l1),
    // although l2 is the newest lib that passed unit.
    const first = built(await scheduleJob(pool, ship));
    expect(await inputsOf(first)).toEqual(['lib=l1', 'repo=r1']);
    await finishBuild(pool, first.id, 'succeeded');

    // Once lint passes r2 too, ship moves to r2 with unit#2's lib.
    expect(await inputsOf(await pass(lint))).toEqual(['repo=r2']);
    expect(await inputsOf(built(await scheduleJob(pool, ship)))).toEqual(['lib=l2', 'repo=r2']);
  });
});

describe('triggerJob', () => {
  it('makes a build now whatever the triggers say, and fails clearly without versions', async () => {
    const p = await createPipeline(
      pool,
      model(
        [resource('repo'), resource('empty')],
        [
          job('manual', [input('repo', { trigger: false })]),
          job('blocked', [input('empty')]),
          job('locked', [input('repo')], { disableManualTrigger: true }),
        ],
      ),
    );
    await addVersions(pool, p.resources.repo as number, ['v1']);
    expect(await scheduleJob(pool, p.jobs.manual as number)).toEqual({ outcome: 'unchanged' });
    const build = await triggerJob(pool, p.jobs.manual as number, { by: 'erin' });
    expect(build).toMatchObject({
      name: '1',
      manually_triggered: true,
      created_by: 'erin',
      status: 'pending',
    });
    expect(await inputsOf(build)).toEqual(['repo=v1']);
    // Triggering again makes another build with the same versions.
    expect((await triggerJob(pool, p.jobs.manual as number)).name).toBe('2');

    const unresolved = await rejection(triggerJob(pool, p.jobs.blocked as number));
    expect(isConveyorError(unresolved, 'CC_E_SCHEDULER_INPUTS_UNRESOLVED')).toBe(true);
    expect((unresolved as Error).message).toContain('input empty');
    const disabled = await rejection(triggerJob(pool, p.jobs.locked as number));
    expect(isConveyorError(disabled, 'CC_E_SCHEDULER_MANUAL_TRIGGER_DISABLED')).toBe(true);
  });
});

describe('paused', () => {
  it('schedules nothing for paused jobs and pipelines', async () => {
    const p = await createPipeline(pool, model([resource('repo')], [job('unit', [input('repo')])]));
    const unit = p.jobs.unit as number;
    await addVersions(pool, p.resources.repo as number, ['v1']);
    await pauseJob(pool, unit);
    expect(await scheduleJob(pool, unit)).toEqual({ outcome: 'skipped', reason: 'paused' });
    await pool.query('UPDATE jobs SET paused = false WHERE id = $1', [unit]);
    await pausePipeline(pool, p.pipelineId);
    expect(await scheduleJob(pool, unit)).toEqual({ outcome: 'skipped', reason: 'pipeline-paused' });
    await unpausePipeline(pool, p.pipelineId);
    expect((await scheduleJob(pool, unit)).outcome).toBe('created');
  });
});

describe('startScheduler', () => {
  it('schedules the jobs asked to be scheduled, downstream ones after a success', async () => {
    const p = await createPipeline(
      pool,
      model([resource('repo')], [job('a', [input('repo')]), job('b', [input('repo', { passed: ['a'] })])]),
    );
    const scheduled: Array<[number, string]> = [];
    const errors: Error[] = [];
    const scheduler = startScheduler({
      pool,
      owner: 'test-scheduler',
      intervalMs: 3_600_000,
      onScheduled: (jobId, outcome) => scheduled.push([jobId, outcome.outcome]),
      onError: (error) => errors.push(error),
    });
    try {
      await addVersions(pool, p.resources.repo as number, ['v1']);
      await scheduler.runNow();
      const [a1] = (await listJobBuilds(pool, p.jobs.a as number)).items;
      expect(a1?.name).toBe('1');
      expect(scheduled).toContainEqual([p.jobs.a, 'created']);
      expect((await listJobBuilds(pool, p.jobs.b as number)).items).toEqual([]);

      await finishBuild(pool, a1?.id as number, 'succeeded');
      await scheduler.runNow();
      expect((await listJobBuilds(pool, p.jobs.b as number)).items.map((build) => build.name)).toEqual(['1']);
      // Nothing asked since: the next pass leaves the jobs alone.
      scheduled.length = 0;
      await scheduler.runNow();
      expect(scheduled.filter(([jobId]) => jobId === p.jobs.a || jobId === p.jobs.b)).toEqual([]);
      expect(errors).toEqual([]);
    } finally {
      await scheduler.stop();
    }
  });
});
