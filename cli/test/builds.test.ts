import type { Build, BuildEventRecord } from '@conveyor/core/api';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { adminToken, cc, startApi, startCc, type TestApi, tempHome } from './helpers.js';

type BuildEvent = BuildEventRecord['event'];
type Finished = 'succeeded' | 'failed' | 'errored' | 'aborted';

const config = `resources:
  - name: repo
    type: mock
jobs:
  - name: unit
    plan:
      - get: repo
      - task: test
        config:
          platform: linux
          run: { path: sh, args: [-c, echo hi] }
  - name: lint
    plan:
      - get: repo
`;

let api: TestApi;
let env: Record<string, string>;
let cleanupHome: () => Promise<void>;
const unit = { team: 'main', pipeline: 'app', job: 'unit' };
const lint = { team: 'main', pipeline: 'app', job: 'lint' };

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
  // A fresh pipeline per test: deleting it drops its builds.
  await api.world.services.pipelines.delete({ team: 'main', pipeline: 'app' }).catch(() => {});
  await api.world.services.pipelines.setConfig({ team: 'main', pipeline: 'app' }, { config, by: 'test' });
});

const time = 1_700_000_000;
const origin = { id: 'plan-2' };

/** What the executor would store for one task step that prints `lines`. */
function taskEvents(lines: string[]): BuildEvent[] {
  return [
    {
      event: 'initialize-task',
      data: { origin, time, config: { platform: 'linux', run: { path: 'sh', args: ['-c', 'echo hi'] } } },
    },
    { event: 'start-task', data: { origin, time } },
    ...lines.map(
      (line): BuildEvent => ({
        event: 'log',
        data: { origin: { ...origin, source: 'stdout' }, payload: `${line}\n`, time },
      }),
    ),
  ];
}

/** A build of the job that has run to its end: its events are all stored before anyone watches. */
function finishedBuild(job: typeof unit, status: Finished, lines = ['hello']): Build {
  const build = api.world.createJobBuild(job);
  api.world.startBuild(build.id);
  for (const event of taskEvents(lines)) api.world.appendEvent(build.id, event);
  if (status === 'errored')
    api.world.appendEvent(build.id, { event: 'error', data: { message: 'boom', time } });
  api.world.finishBuild(build.id, status);
  return build;
}

describe('cc watch', () => {
  it.each([
    ['succeeded', 0],
    ['failed', 1],
    ['errored', 2],
    ['aborted', 3],
  ] as const)('prints the log of a %s build like fly and exits %i', async (status, exit) => {
    const build = finishedBuild(unit, status);
    const { code, stdout, stderr } = await cc(['watch', '-j', 'app/unit', '-b', build.name], env);
    expect(stderr).toBe('');
    expect(code).toBe(exit);
    expect(stdout).toBe(
      [
        'initializing',
        'running sh -c echo hi',
        'hello',
        ...(status === 'errored' ? ['boom'] : []),
        status,
        '',
      ].join('\n'),
    );
  });

  it('finds the build by global id, or the job’s latest, and explains a job without builds', async () => {
    const first = finishedBuild(unit, 'failed', ['first']);
    const second = finishedBuild(unit, 'succeeded', ['second']);
    const byId = await cc(['watch', '-b', String(first.id)], env);
    expect(byId.code).toBe(1);
    expect(byId.stdout).toContain('first\n');

    const latest = await cc(['watch', '-j', 'app/unit'], env);
    expect(latest.code).toBe(0);
    expect(latest.stdout).toContain('second\n');
    expect(second.name).toBe('2');

    const none = await cc(['watch', '-j', 'app/lint'], env);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('job app/lint has no builds yet');
    expect(none.stderr).toContain('Code: CC_E_CLI_NOT_FOUND');
  });

  it('exits 2 with CC_E_CLI_USAGE on a malformed job or build id, and 1 for an unknown build', async () => {
    for (const args of [
      ['-j', 'app'],
      ['-j', 'app/unit/x'],
      ['-b', 'twelve'],
    ]) {
      const { code, stderr } = await cc(['watch', ...args], env);
      expect(code, args.join(' ')).toBe(2);
      expect(stderr).toContain('Code: CC_E_CLI_USAGE');
    }
    const unknown = await cc(['watch', '-b', '999'], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('CC_E_API_BUILD_NOT_FOUND');
  });
});

describe('cc trigger-job and cc rerun-build', () => {
  it('triggers a build and, with -w, streams its log as it comes until it fails (exit 1)', async () => {
    const running = startCc(['trigger-job', '-j', 'app/unit', '-w'], env);
    const [, name] = await running.waitFor(/started app\/unit #(\d+)\n/);
    const build = await api.world.services.jobs.getBuild(unit, name ?? '');
    expect(build.created_by).toBe('admin');
    api.world.startBuild(build.id);
    const [initialize, start, ...logs] = taskEvents(['line 1', 'line 2']);
    for (const event of [initialize, start]) if (event) api.world.appendEvent(build.id, event);
    // One line at a time, each after the previous one has been printed: a live stream.
    for (const [i, event] of logs.entries()) {
      api.world.appendEvent(build.id, event);
      await running.waitFor(new RegExp(`line ${i + 1}\\n`));
    }
    api.world.finishBuild(build.id, 'failed');
    expect(await running.exited).toBe(1);
    expect(running.stdout()).toBe(
      `started app/unit #${name}\n\ninitializing\nrunning sh -c echo hi\nline 1\nline 2\nfailed\n`,
    );
  });

  it('prints the new build as JSON, and refuses --json with --watch', async () => {
    const json = await cc(['trigger-job', '-j', 'app/lint', '--json'], env);
    expect(json.code).toBe(0);
    const build = JSON.parse(json.stdout) as Build;
    expect(build).toEqual(await api.world.services.builds.get(build.id));
    expect(build).toMatchObject({ job_name: 'lint', status: 'pending' });

    const both = await cc(['trigger-job', '-j', 'app/lint', '--json', '-w'], env);
    expect(both.code).toBe(2);
  });

  it('reruns a build under its own name and watches it succeed (exit 0)', async () => {
    const original = finishedBuild(unit, 'failed');
    const running = startCc(['rerun-build', '-j', 'app/unit', '-b', original.name, '-w'], env);
    await running.waitFor(new RegExp(`started app/unit #${original.name}\\.1\\n`));
    const rerun = await api.world.services.jobs.getBuild(unit, `${original.name}.1`);
    expect(rerun.rerun_of).toEqual({ id: original.id, name: original.name });
    api.world.startBuild(rerun.id);
    api.world.appendEvent(rerun.id, {
      event: 'log',
      data: { origin: { id: 'x', source: 'stderr' }, payload: 'again', time },
    });
    api.world.finishBuild(rerun.id, 'succeeded');
    expect(await running.exited).toBe(0);
    // A log without a final newline still leaves the status on a line of its own.
    expect(running.stdout()).toMatch(/\n\nagain\nsucceeded\n$/);
  });
});

describe('cc jobs, cc builds and cc abort-build', () => {
  it('lists jobs with their latest and next build', async () => {
    finishedBuild(unit, 'failed');
    api.world.createJobBuild(unit);
    const table = await cc(['jobs', '-p', 'app'], env);
    expect(table.code).toBe(0);
    expect(table.stdout.trimEnd().split('\n')).toEqual([
      'NAME  PAUSED  STATUS  NEXT',
      'unit  no      failed  pending',
      'lint  no      n/a     n/a',
    ]);
    const json = await cc(['jobs', '-p', 'app', '--json'], env);
    expect(JSON.parse(json.stdout)).toEqual(
      await api.world.services.jobs.list({ team: 'main', pipeline: 'app' }),
    );
  });

  it('lists builds newest first, of a job, of a pipeline or of all, limited by -c', async () => {
    const one = finishedBuild(unit, 'succeeded');
    const two = finishedBuild(lint, 'failed');
    const three = finishedBuild(unit, 'errored');
    const pending = api.world.createJobBuild(unit);

    const ofJob = await cc(['builds', '-j', 'app/unit', '-c', '2'], env);
    expect(ofJob.code).toBe(0);
    const [header, ...rows] = ofJob.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^ID\s+PIPELINE\/JOB\s+BUILD\s+STATUS\s+START\s+END\s+DURATION\s+TEAM$/);
    expect(rows.map((row) => row.split(/\s+/).slice(0, 4))).toEqual([
      [String(pending.id), 'app/unit', pending.name, 'pending'],
      [String(three.id), 'app/unit', three.name, 'errored'],
    ]);
    expect(rows[0]).toMatch(/pending\s+n\/a\s+n\/a\s+n\/a\s+main$/);
    expect(rows[1]).toMatch(/errored\s+\S+@\S+\s+\S+@\S+\s+\d+s\s+main$/);

    const ofPipeline = await cc(['builds', '-p', 'app', '--json'], env);
    expect((JSON.parse(ofPipeline.stdout) as Build[]).map((b) => b.id)).toEqual([
      pending.id,
      three.id,
      two.id,
      one.id,
    ]);

    const all = await cc(['builds', '--json', '-c', '3'], env);
    expect(JSON.parse(all.stdout)).toEqual((await api.world.services.builds.list({ limit: 3 })).items);

    const both = await cc(['builds', '-j', 'app/unit', '-p', 'app'], env);
    expect(both.code).toBe(2);
  });

  it('aborts a build by job and name, or by global id', async () => {
    const running = api.world.createJobBuild(unit);
    api.world.startBuild(running.id);
    const byName = await cc(['abort-build', '-j', 'app/unit', '-b', running.name], env);
    expect(byName).toMatchObject({ code: 0, stdout: 'build successfully aborted\n' });
    expect((await api.world.services.builds.get(running.id)).status).toBe('aborted');

    const pending = api.world.createJobBuild(unit);
    const byId = await cc(['abort-build', '-b', String(pending.id), '--json'], env);
    expect(byId.code).toBe(0);
    expect(JSON.parse(byId.stdout)).toMatchObject({ id: pending.id, status: 'aborted' });

    const watched = await cc(['watch', '-b', String(pending.id)], env);
    expect(watched).toMatchObject({ code: 3, stdout: 'aborted\n' });
  });
});
