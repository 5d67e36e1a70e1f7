import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  containerdUnavailable,
  mountsUnder,
  startContainerd,
  type TestContainerd,
} from '../harness/containerd.js';
import { buildBusyboxImage, busyboxUnavailable, type OciImage } from '../harness/oci-images.js';
import { apiClient, type CcServer, eventually, startCcServer } from './cc-server.js';

interface Build {
  id: number;
  status: string;
}

const unavailable = containerdUnavailable() ?? busyboxUnavailable();

/**
 * Crash safety on the containerd runtime with overlay volumes: after the server, or containerd
 * itself, is killed mid-build and comes back, the build is errored and gc leaves no task,
 * container, container snapshot, lease or mount behind (listed through containerd's API with
 * `ctr`, and in /proc/mounts).
 */
describe.skipIf(unavailable !== undefined)('a containerd build whose server or containerd is killed', () => {
  let containerd: TestContainerd;
  let image: OciImage;
  let scratch: string;
  const namespace = 'e2e-crash';
  const servers: CcServer[] = [];

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'conveyor-e2e-crash-'));
    // The embedded Postgres runs as an unprivileged user that must be able to enter it.
    await chmod(scratch, 0o755);
    containerd = await startContainerd();
    image = await buildBusyboxImage(scratch);
  }, 120_000);

  afterAll(async () => {
    for (const server of servers) if (server.child.exitCode === null) server.child.kill('SIGKILL');
    await containerd?.stop();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  const ctr = async (...args: string[]) =>
    (await containerd.ctr(args, { namespace })).split('\n').filter((line) => line.trim() !== '');

  /** What a finished build may leave in containerd: nothing but the image and its layers. */
  async function leftovers(volumesRoot: string) {
    const snapshots = (await ctr('snapshots', 'ls')).slice(1).filter((line) => !/\bCommitted\b/.test(line));
    return {
      containers: await ctr('containers', 'ls', '-q'),
      tasks: await ctr('tasks', 'ls', '-q'),
      leases: await ctr('leases', 'ls', '-q'),
      activeSnapshots: snapshots,
      mounts: [...(await mountsUnder(volumesRoot)), ...(await mountsUnder(containerd.state))],
    };
  }
  const nothingLeft = { containers: [], tasks: [], leases: [], activeSnapshots: [], mounts: [] };

  it('errors the build and reaps everything after the server is killed, or containerd is', async () => {
    const volumesRoot = join(scratch, 'volumes');
    const config = join(scratch, 'conveyor.yaml');
    await writeFile(
      config,
      `runtime:
  plugin: containerd
  config:
    address: ${containerd.address}
    namespace: ${namespace}
    stateDir: ${join(scratch, 'state')}
    defaultImage: { reference: ${image.reference}, layoutPath: ${image.layoutDir} }
volumes: { driver: overlay, config: { root: ${volumesRoot} } }
`,
    );
    const args = ['--data-dir', join(scratch, 'data'), '-c', config];
    const env = { CONVEYOR_HOME: join(scratch, 'cli') };
    const start = async () => {
      const server = await startCcServer(args, env);
      servers.push(server);
      return server;
    };

    let server = await start();
    const token = server.token ?? '';
    let api = apiClient(server.url, token);
    await api('PUT', '/teams/main/pipelines/crash/config', {
      config: `jobs:
  - name: sleepy
    plan:
      - task: sleep
        config:
          platform: linux
          outputs: [{ name: out }]
          run: { path: sh, args: [-c, 'echo sleeping > out/state; exec sleep 300'] }
`,
    });
    await api('PUT', '/teams/main/pipelines/crash/unpause');
    const running = async () =>
      (await ctr('tasks', 'ls')).some((line) => /RUNNING/.test(line)) ? true : undefined;

    // 1. The server is killed with the task running; the task outlives it.
    const first = await api<Build>('POST', '/teams/main/pipelines/crash/jobs/sleepy/builds');
    await eventually('the task to run in containerd', running);
    server.child.kill('SIGKILL');
    await server.exited;
    expect(await running()).toBe(true);

    server = await start();
    api = apiClient(server.url, token);
    expect((await api<Build>('GET', `/builds/${first.id}`)).status).toBe('errored');
    await eventually('gc to reap what the killed server left', async () => {
      const left = await leftovers(volumesRoot);
      return JSON.stringify(left) === JSON.stringify(nothingLeft) ? left : undefined;
    });

    // 2. containerd is killed with a task running, then comes back: the build errors (its
    //    process is lost to the server), and gc reaps the container once containerd answers.
    const second = await api<Build>('POST', '/teams/main/pipelines/crash/jobs/sleepy/builds');
    await eventually('the second task to run', running);
    await containerd.kill();
    await eventually('the build to error without containerd', async () => {
      const build = await api<Build>('GET', `/builds/${second.id}`);
      return build.status === 'errored' ? build : undefined;
    });
    await containerd.restart();
    await eventually('gc to reap what containerd was running', async () => {
      const left = await leftovers(volumesRoot);
      return JSON.stringify(left) === JSON.stringify(nothingLeft) ? left : undefined;
    });
    const started = (await api<Build[]>('GET', '/builds')).filter((b) => b.status === 'started');
    expect(started).toEqual([]);
    expect(await server.stop()).toBe(0);
  }, 300_000);
});
