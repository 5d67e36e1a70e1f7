import { type ChildProcess, spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { apiClient, type CcServer, eventually, processRuns, startCcServer } from './cc-server.js';

const runJs = fileURLToPath(new URL('../../cli/bin/run.js', import.meta.url));

/*
 * cc containers and cc intercept against a real server on the local runtime: a job whose two
 * tasks run (and sleep) in parallel, each in its own container.
 */

const pipeline = `
jobs:
  - name: unit
    plan:
      - in_parallel:
          - task: work
            config:
              platform: linux
              params: { GREETING: hello from the step }
              run:
                path: sh
                args: [-c, 'echo $$ > step.pid; echo "made by the step" > marker; exec sleep 300']
          - task: other
            config:
              platform: linux
              run: { path: sleep, args: ['300'] }
`;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

describe('cc containers and cc intercept, end to end on the local runtime', () => {
  let home: string;
  let server: CcServer;
  let env: Record<string, string>;
  let buildId: number;
  const children = new Set<ChildProcess>();

  /** Starts `cc` with stdin fed `stdin` (then closed), as a script would run it. */
  const start = (args: string[], options: { stdin?: string; env?: Record<string, string> } = {}) => {
    const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CONVEYOR_')));
    const child = spawn(process.execPath, [runJs, ...args], {
      env: { ...base, NO_COLOR: '1', ...env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    if (options.stdin !== undefined) child.stdin?.end(options.stdin);
    const done = new Promise<Run>((resolve) =>
      child.on('close', (code) => {
        children.delete(child);
        resolve({ code, stdout, stderr });
      }),
    );
    return { child, done };
  };
  const cc = (args: string[], options: { stdin?: string; env?: Record<string, string> } = {}) =>
    start(args, { stdin: '', ...options }).done;

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'conveyor-e2e-intercept-'));
    // The embedded Postgres runs as another user, which must reach its data directory.
    await chmod(home, 0o755);
    env = { CONVEYOR_HOME: join(home, 'cli') };
    // Roots of its own: the gc of another test's server would destroy containers it has no row of.
    const runtimeRoot = join(home, 'runtime');
    const volumeRoot = join(home, 'volumes');
    await mkdir(runtimeRoot);
    await mkdir(volumeRoot);
    const configFile = join(home, 'conveyor.yaml');
    await writeFile(
      configFile,
      `runtime: { plugin: local, config: { root: ${runtimeRoot} } }\nvolumes: { driver: naive, config: { root: ${volumeRoot} } }\n`,
    );
    server = await startCcServer(['--data-dir', join(home, 'data'), '-c', configFile], env);
    const api = apiClient(server.url, server.token ?? '');
    await api('PUT', '/teams/main/pipelines/app/config', { config: pipeline });
    await api('PUT', '/teams/main/pipelines/app/unpause');
    buildId = (await api<{ id: number }>('POST', '/teams/main/pipelines/app/jobs/unit/builds')).id;
    // Both containers exist, and the work task has written its marker.
    let last: Run | undefined;
    await eventually(
      'the work task to write its marker',
      async () => {
        const build = await api<{ status: string }>('GET', `/builds/${buildId}`);
        if (build.status !== 'pending' && build.status !== 'started') {
          throw new Error(`build ${buildId} ended ${build.status} before the test ran:\n${server.output()}`);
        }
        last = await cc(['intercept', '-j', 'app/unit', '-s', 'work', '--', 'test', '-f', 'marker']);
        return last.code === 0 ? true : undefined;
      },
      150_000,
    ).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}; the last try said:\n${last?.stderr}\n${server.output()}`);
    });
  }, 180_000);

  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    if (server) {
      // Aborting the build ends its sleeping tasks and destroys their containers.
      await apiClient(server.url, server.token ?? '')('PUT', `/builds/${buildId}/abort`).catch(
        () => undefined,
      );
      await eventually('the build to end', async () => {
        const build = await apiClient(server.url, server.token ?? '')<{ status: string }>(
          'GET',
          `/builds/${buildId}`,
        );
        return build.status === 'started' ? undefined : true;
      }).catch(() => undefined);
      await server.stop();
    }
    if (home) await rm(home, { recursive: true, force: true });
  }, 120_000);

  it('lists the running steps’ containers, named after their build and step', async () => {
    const table = await cc(['containers', '-j', 'app/unit']);
    expect(table.code, table.stderr).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^HANDLE\s+WORKER\s+RUNTIME\s+STATE\s+BUILD\s+STEP\s+TYPE\s+AGE$/);
    expect(lines.slice(1).map((line) => line.split(/\s{2,}/).slice(1, 7))).toEqual([
      ['local', 'local', 'created', 'app/unit #1', 'work', 'task'],
      ['local', 'local', 'created', 'app/unit #1', 'other', 'task'],
    ]);
    const json = await cc(['containers', '--json']);
    const containers = JSON.parse(json.stdout) as Array<{
      build_id: number;
      step_name: string;
      plan_id: string;
    }>;
    expect(containers.filter((c) => c.build_id === buildId).map((c) => c.step_name)).toEqual([
      'work',
      'other',
    ]);
    const volumes = await cc(['volumes', '--json']);
    expect(volumes.code, volumes.stderr).toBe(0);
    expect(Array.isArray(JSON.parse(volumes.stdout))).toBe(true);
  });

  it('runs a command in the step’s container and exits with its status', async () => {
    const cat = await cc(['intercept', '-j', 'app/unit', '-s', 'work', '--', 'cat', 'marker']);
    expect(cat).toEqual({ code: 0, stdout: 'made by the step\n', stderr: '' });

    const failing = await cc([
      'intercept',
      '-j',
      'app/unit',
      '-b',
      '1',
      '-s',
      'work',
      '--',
      'sh',
      '-c',
      'echo "$GREETING"; echo to-stderr >&2; exit 3',
    ]);
    expect(failing).toEqual({ code: 3, stdout: 'hello from the step\n', stderr: 'to-stderr\n' });

    const byId = await cc(['intercept', '--build', String(buildId), '-s', 'work', '--', 'cat', 'marker']);
    expect(byId.stdout).toBe('made by the step\n');
  });

  it('passes stdin on, and the process sees its end', async () => {
    const run = await cc(['intercept', '-j', 'app/unit', '-s', 'other', '--', 'wc', '-l'], {
      stdin: 'one\ntwo\nthree\n',
    });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.trim()).toBe('3');
  });

  it('fails with the list when several containers match and stdin is not a terminal', async () => {
    const run = await cc(['intercept', '-j', 'app/unit', '--', 'cat', 'marker']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('CC_E_CLI_AMBIGUOUS');
    expect(run.stderr).toMatch(/1: build #1, step: work, type: task/);
    expect(run.stderr).toMatch(/2: build #1, step: other, type: task/);
  });

  it('asks which container when someone can answer', async () => {
    const run = await cc(
      ['intercept', '-j', 'app/unit', '--', 'sh', '-c', 'test -f marker && echo work || echo other'],
      {
        stdin: '2\n',
        env: { CONVEYOR_ASSUME_TTY: '1' },
      },
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('1: build #1, step: work, type: task');
    expect(run.stdout).toContain('choose a container: 2\n');
    expect(run.stdout.trimEnd().split('\n').at(-1)).toBe('other');
  });

  it('is refused a terminal on the local runtime, with the reason and what to use', async () => {
    const run = await cc(['intercept', '-j', 'app/unit', '-s', 'work', '--tty', '--', 'sh']);
    expect(run.code).toBe(1);
    expect(run.stderr.replace(/\s*›\s*/g, ' ')).toContain('CC_E_API_TTY_UNSUPPORTED');
    expect(run.stderr.replace(/\s*›\s*/g, ' ')).toMatch(/cannot give a process a\s+terminal/);
    expect(run.stderr).toContain('containerd');
  });

  it('requires the token on the WebSocket upgrade', async () => {
    const url = `${server.url.replace(/^http/, 'ws')}/api/v1/builds/${buildId}/intercept?step=work`;
    const status = await new Promise<number>((resolve, reject) => {
      const socket = new WebSocket(url);
      socket.once('open', () => reject(new Error('the upgrade was accepted without a token')));
      socket.once('unexpected-response', (request, response: IncomingMessage) => {
        request.destroy();
        resolve(response.statusCode ?? 0);
      });
      socket.once('error', reject);
    });
    expect(status).toBe(401);
  });

  it('stops the intercepted process when cc goes away, and leaves the step running', async () => {
    const session = start([
      'intercept',
      '-j',
      'app/unit',
      '-s',
      'work',
      '--',
      'sh',
      '-c',
      'echo $$ > intercept.pid; exec sleep 301',
    ]);
    const pidOf = async (file: string) => {
      const run = await cc(['intercept', '-j', 'app/unit', '-s', 'work', '--', 'cat', file]);
      return run.code === 0 && run.stdout.trim() !== '' ? Number(run.stdout.trim()) : undefined;
    };
    const interceptPid = await eventually('the intercepted process to start', () => pidOf('intercept.pid'));
    const stepPid = await eventually('the step’s pid', () => pidOf('step.pid'));
    expect(processRuns(interceptPid)).toBe(true);

    session.child.kill('SIGTERM');
    await session.done;
    await eventually('the intercepted process to be stopped', async () =>
      processRuns(interceptPid) ? undefined : true,
    );
    expect(processRuns(stepPid)).toBe(true);
    const build = await apiClient(server.url, server.token ?? '')<{ status: string }>(
      'GET',
      `/builds/${buildId}`,
    );
    expect(build.status).toBe('started');
  });
});
