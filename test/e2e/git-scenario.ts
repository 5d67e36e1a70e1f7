import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { type GitDaemon, startGitDaemon, type TestRepo } from '../harness/git-daemon.js';
import { apiClient, type CcServer, ccCommand, eventually, startCcServer } from './cc-server.js';

interface Build {
  id: number;
  name: string;
  status: string;
}

export interface GitScenarioOptions {
  /** conveyor.yaml for the server (runtime, volume driver); the embedded defaults without it. */
  serverConfig?: string | undefined;
  /** Checks on what job A's first build printed, beyond the scenario's own. */
  checkFirstBuild?: ((output: string) => void) | undefined;
}

/** A `cc`-driven environment: a git daemon with a repository, a server, and the CLI. */
export interface GitScenario {
  cc(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  server(): CcServer;
  /** Runs the pipelines issue's end-to-end check against this environment. */
  runPipeline(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The pipelines issue's end-to-end check, driven through `cc` against a real server: a git
 * resource on a real git daemon feeds job A (trigger), whose task reads the repository and writes
 * an output; job B takes the same version through `passed: [A]` and pushes a commit back to a
 * release branch with a put. A new commit triggers A again; history survives a restart. The same
 * pipeline runs unchanged on every runtime and volume driver.
 */
export async function startGitScenario(options: GitScenarioOptions = {}): Promise<GitScenario> {
  const home = await mkdtemp(join(tmpdir(), 'conveyor-e2e-git-'));
  await chmod(home, 0o755);
  const daemon: GitDaemon = await startGitDaemon();
  const repo: TestRepo = await daemon.createRepo('app');
  await repo.commit({ files: { 'README.md': 'first\n' }, message: 'first commit' });
  const env = { CONVEYOR_HOME: join(home, 'cli') };
  const args = ['--data-dir', join(home, 'data')];
  // Without a config of the caller's: the embedded defaults, but with directories of its own, so
  // another test's server never takes its containers and volumes for orphans.
  const file = join(home, 'conveyor.yaml');
  await writeFile(
    file,
    options.serverConfig ??
      `runtime: { plugin: local, config: { root: ${join(home, 'containers')} } }\nvolumes: { driver: naive, config: { root: ${join(home, 'volumes')} } }\n`,
  );
  args.push('--config', file);
  let server = await startCcServer(args, env);

  const cc = ccCommand(env);

  const runPipeline = async () => {
    const pipeline = join(home, 'pipeline.yml');
    await writeFile(
      pipeline,
      `
resources:
  - name: app
    type: git
    check_every: 1s
    source: { uri: ${repo.url}, branch: main }
  - name: release
    type: git
    check_every: never
    source: { uri: ${repo.url}, branch: release }

jobs:
  - name: A
    plan:
      - get: app
        trigger: true
      - task: read
        config:
          platform: linux
          inputs: [{ name: app }]
          outputs: [{ name: summary }]
          run:
            path: sh
            args:
              - -ec
              - |
                echo "line one"
                echo "commit $(cat app/.git/ref)"
                cat app/README.md
                echo "line last"
                cat app/.git/ref > summary/commit
  - name: B
    plan:
      - get: app
        trigger: true
        passed: [A]
      - task: commit
        config:
          platform: linux
          inputs: [{ name: app }]
          outputs: [{ name: release-repo }]
          run:
            path: sh
            args:
              - -ec
              - |
                ref=$(cat app/.git/ref)
                echo "B sees $ref"
                git clone -q app release-repo
                cd release-repo
                echo "released $ref" > RELEASE
                git add RELEASE
                git -c user.name=ci -c user.email=ci@example.com commit -q -m "release"
      - put: release
        params: { repository: release-repo }
`,
    );
    const set = await cc('set-pipeline', '-p', 'e2e', '-c', pipeline, '--non-interactive');
    expect(set.code, set.stderr).toBe(0);
    expect((await cc('unpause-pipeline', '-p', 'e2e')).code).toBe(0);

    const api = apiClient(server.url, token);
    const finished = (job: string, name: string) =>
      eventually(`${job} #${name} to finish`, async () => {
        const builds = await api<Build[]>('GET', `/teams/main/pipelines/e2e/jobs/${job}/builds`);
        const build = builds.find((b) => b.name === name);
        return build && !['pending', 'started'].includes(build.status) ? build : undefined;
      });

    /** The build finishes and succeeds; if it does not, its log says why. */
    const succeeded = async (job: string, name: string) => {
      const build = await finished(job, name);
      if (build.status !== 'succeeded') {
        const log = await cc('watch', '-j', `e2e/${job}`, '-b', name);
        expect(build.status, `${job} #${name}:\n${log.stdout}\n${log.stderr}`).toBe('succeeded');
      }
    };

    // 1. The first commit triggers A; `cc watch` streams its lines in order and exits 0.
    const firstCommit = await repo.revParse('main');
    await succeeded('A', '1');
    const watchA = await cc('watch', '-j', 'e2e/A', '-b', '1');
    expect(watchA.code, watchA.stderr).toBe(0);
    options.checkFirstBuild?.(watchA.stdout);
    const lines = watchA.stdout.split('\n');
    const order = ['line one', `commit ${firstCommit}`, 'first', 'line last'].map((line) =>
      lines.indexOf(line),
    );
    expect(
      order.every((index) => index >= 0),
      watchA.stdout,
    ).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);

    // 2. B runs on the same version, through passed: [A], and pushes to the release branch.
    await succeeded('B', '1');
    const watchB = await cc('watch', '-j', 'e2e/B', '-b', '1');
    expect(watchB.stdout).toContain(`B sees ${firstCommit}`);
    const release = await repo.revParse('release');
    expect(await repo.git('show', `${release}:RELEASE`)).toContain(`released ${firstCommit}`);

    // 3. A new commit triggers A again within a check interval or so.
    const second = await repo.commit({ files: { 'README.md': 'second\n' }, message: 'second commit' });
    await succeeded('A', '2');
    expect((await cc('watch', '-j', 'e2e/A', '-b', '2')).stdout).toContain(`commit ${second}`);

    // 4. After a restart the history is intact.
    const stopped = await server.stop();
    expect(
      stopped,
      `cc up ended by ${server.child.signalCode ?? `exit ${stopped}`}:\n${server.output()}`,
    ).toBe(0);
    server = await startCcServer(args, env);
    const builds = await cc('builds', '-j', 'e2e/A', '--json');
    expect(builds.code, builds.stderr).toBe(0);
    const names = (JSON.parse(builds.stdout) as Build[]).map((b) => `${b.name}:${b.status}`);
    expect(names).toEqual(expect.arrayContaining(['1:succeeded', '2:succeeded']));
    const replay = await cc('watch', '-j', 'e2e/A', '-b', '1');
    expect(replay.stdout).toContain(`commit ${firstCommit}`);
  };

  // Only the first start of a data dir prints the token; cc saved it as the current target.
  const token = server.token ?? '';
  return {
    cc,
    server: () => server,
    runPipeline,
    async stop() {
      if (server.child.exitCode === null) {
        server.child.kill('SIGTERM');
        await server.exited;
      }
      await daemon.stop();
      await rm(home, { recursive: true, force: true });
    },
  };
}
