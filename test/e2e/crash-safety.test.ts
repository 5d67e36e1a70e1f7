import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { apiClient, type CcServer, eventually, processRuns, startCcServer } from './cc-server.js';

interface Build {
  id: number;
  name: string;
  status: string;
}

describe('a server killed mid-build', () => {
  const servers: CcServer[] = [];
  let home: string | undefined;
  afterEach(async () => {
    for (const server of servers.splice(0)) if (server.child.exitCode === null) server.child.kill('SIGKILL');
    if (home) await rm(home, { recursive: true, force: true });
  });

  it('leaves no process, container or volume behind and no build started, after a restart', async () => {
    home = await mkdtemp(join(tmpdir(), 'conveyor-crash-'));
    await chmod(home, 0o755);
    const runtimeRoot = join(home, 'runtime');
    const volumeRoot = join(home, 'volumes');
    await mkdir(runtimeRoot);
    await mkdir(volumeRoot);
    const configFile = join(home, 'conveyor.yaml');
    await writeFile(
      configFile,
      `runtime: { plugin: local, config: { root: ${runtimeRoot} } }\nvolumes: { driver: naive, config: { root: ${volumeRoot} } }\n`,
    );
    const pidFile = join(home, 'task.pid');
    const args = ['--data-dir', join(home, 'data'), '-c', configFile];
    const env = { CONVEYOR_HOME: join(home, 'cli') };

    const first = await startCcServer(args, env);
    servers.push(first);
    const api = apiClient(first.url, first.token ?? '');
    await api('PUT', '/teams/main/pipelines/crash/config', {
      config: [
        'jobs:',
        '  - name: sleepy',
        '    plan:',
        '      - task: sleep',
        '        config:',
        '          platform: linux',
        '          run:',
        '            path: sh',
        `            args: [-c, 'echo $$ > ${pidFile}; echo sleeping; exec sleep 300']`,
      ].join('\n'),
    });
    await api('PUT', '/teams/main/pipelines/crash/unpause');
    const build = await api<Build>('POST', '/teams/main/pipelines/crash/jobs/sleepy/builds');
    const pid = await eventually('the task to start', async () => {
      const text = await readFile(pidFile, 'utf8').catch(() => '');
      return text.trim() ? Number(text.trim()) : undefined;
    });
    expect(processRuns(pid)).toBe(true);
    expect(await readdir(runtimeRoot)).not.toEqual([]);

    // kill -9: no shutdown runs; the task's process outlives the server.
    first.child.kill('SIGKILL');
    await first.exited;
    expect(processRuns(pid)).toBe(true);

    const second = await startCcServer(args, env);
    servers.push(second);
    const api2 = apiClient(second.url, first.token ?? '');
    const after = await api2<Build>('GET', `/builds/${build.id}`);
    expect(after.status).toBe('errored');
    await eventually('the task process to be gone', async () => (processRuns(pid) ? undefined : true));
    await eventually('the container and volumes to be reaped', async () =>
      (await readdir(runtimeRoot)).length === 0 && (await readdir(volumeRoot)).length === 0
        ? true
        : undefined,
    );
    const started = (await api2<Build[]>('GET', '/builds')).filter((b) => b.status === 'started');
    expect(started).toEqual([]);
    expect(await second.stop()).toBe(0);
  }, 120_000);
});
