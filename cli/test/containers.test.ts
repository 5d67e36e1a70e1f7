import type { Container, InterceptRequest } from '@conveyor/core/api';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { adminToken, cc, startApi, type TestApi, tempHome } from './helpers.js';

/*
 * cc containers, cc volumes and cc intercept against the API over the in-memory world, which
 * stands in for the runtime. test/e2e/intercept.test.ts runs them against a real server.
 */

const config = `jobs:
  - name: unit
    plan:
      - task: compile
        config: { platform: linux, run: { path: 'true' } }
`;

let api: TestApi;
let env: Record<string, string>;
let cleanupHome: () => Promise<void>;
const unit = { team: 'main', pipeline: 'app', job: 'unit' };
let buildId: number;
const minutesAgo = (n: number) => Math.floor(Date.now() / 1000) - n * 60;

function container(step: string, handle: string, planId: string): Container {
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
    plan_id: planId,
    step_name: step,
    type: 'task',
    created_at: minutesAgo(2),
  };
}

beforeAll(async () => {
  api = await startApi();
  const { home, cleanup } = await tempHome();
  cleanupHome = cleanup;
  env = { CONVEYOR_HOME: home, CONVEYOR_URL: api.url, CONVEYOR_TOKEN: adminToken };
  await api.world.services.pipelines.setConfig({ team: 'main', pipeline: 'app' }, { config, by: 'test' });
  buildId = api.world.createJobBuild(unit).id;
  api.world.startBuild(buildId);
  api.world.addContainer(container('compile', 'b1-c-aaaa', '2'));
  api.world.addVolume({
    handle: 'b1-v-bbbb',
    worker_name: 'local',
    driver: 'naive',
    state: 'created',
    type: 'output',
    artifact: 'binary',
    team_name: 'main',
    build_id: buildId,
    build_name: '1',
    pipeline_name: 'app',
    job_name: 'unit',
    plan_id: '2',
    step_name: 'compile',
    created_at: minutesAgo(3),
  });
});
afterAll(async () => {
  await api.close();
  await cleanupHome();
});
beforeEach(() => {
  api.world.interceptProcess = undefined;
  api.world.interceptTty = false;
});

describe('cc containers and cc volumes', () => {
  it('print a table of what the builds use, and the API’s JSON with --json', async () => {
    const table = await cc(['containers'], env);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout.trimEnd().split('\n')).toEqual([
      'HANDLE     WORKER  RUNTIME  STATE    BUILD        STEP     TYPE  AGE',
      expect.stringMatching(
        /^b1-c-aaaa {2}local {3}local {4}created {2}app\/unit #1 {2}compile {2}task {2}2m\d+s$/,
      ),
    ]);
    const json = await cc(['containers', '-j', 'app/unit', '-b', '1', '--json'], env);
    expect(JSON.parse(json.stdout)).toEqual(await api.world.services.containers.list('main', {}));

    const volumes = await cc(['volumes', '--type', 'output'], env);
    expect(volumes.stdout.trimEnd().split('\n')).toEqual([
      'HANDLE     WORKER  DRIVER  STATE    TYPE    BUILD        STEP     AGE',
      expect.stringMatching(
        /^b1-v-bbbb {2}local {3}naive {3}created {2}output {2}app\/unit #1 {2}compile {2}3m\d+s$/,
      ),
    ]);
  });

  it('refuse -j with -p, and name a missing pipeline', async () => {
    const both = await cc(['containers', '-j', 'app/unit', '-p', 'app'], env);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('give --job or --pipeline, not both');
    const missing = await cc(['volumes', '-p', 'nope'], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('CC_E_API_PIPELINE_NOT_FOUND');
  });
});

describe('cc intercept', () => {
  it('sends the command and stdin, prints both streams, and exits with the status', async () => {
    let seen: InterceptRequest | undefined;
    api.world.interceptProcess = async (_container, request, io) => {
      seen = request;
      let typed = '';
      for await (const item of io.input)
        if (item instanceof Uint8Array) typed += Buffer.from(item).toString();
      io.onOutput('stdout', `typed: ${typed}`);
      io.onOutput('stderr', 'warning\n');
      return { exitStatus: 42 };
    };
    const run = await cc(['intercept', '-j', 'app/unit', '--', 'cat', '-n'], env, { stdin: 'abc\n' });
    expect(run).toEqual({ code: 42, stdout: 'typed: abc\n', stderr: 'warning\n' });
    expect(seen).toEqual({ buildId, container: 'b1-c-aaaa', command: ['cat', '-n'], tty: false });
  });

  it('runs sh by default, and asks for a terminal with --tty', async () => {
    let seen: InterceptRequest | undefined;
    api.world.interceptTty = true;
    api.world.interceptProcess = async (_container, request) => {
      seen = request;
      return { exitStatus: 0 };
    };
    const run = await cc(['intercept', '--build', String(buildId), '--tty'], {
      ...env,
      TERM: 'xterm-256color',
    });
    expect(run.code, run.stderr).toBe(0);
    // stdout is a pipe here, so there is no size to send.
    expect(seen).toEqual({
      buildId,
      container: 'b1-c-aaaa',
      command: ['sh'],
      tty: true,
      term: 'xterm-256color',
    });
  });

  it('says when the build has no container for the step', async () => {
    const run = await cc(['intercept', '-j', 'app/unit', '-s', 'deploy', '--', 'true'], env);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('CC_E_CLI_NOT_FOUND');
    expect(run.stderr).toContain('no container for step "deploy"');
  });

  it('needs a build to look in', async () => {
    const run = await cc(['intercept', '--', 'true'], env);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('name the build whose container to intercept');
  });
});
