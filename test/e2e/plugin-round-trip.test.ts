/**
 * The plugin distribution issue's round trip, as a plugin author and an operator do it, through
 * the real `cc`: `cc plugin new resource-type hello`, build it, publish it signed to a registry,
 * install `hello@^1` through a second registry that mirrors the first into the data dir of a
 * running `cc up` (trusting the publisher's key), then a pipeline with `type: hello` gets it and a
 * task reads what the get wrote. The server picks the plugin up without a restart.
 */
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type RunningRegistry, startRegistryMirror } from '@conveyor/registry-mirror';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, type CcServer, eventually, startCcServer } from './cc-server.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const runJs = join(repoRoot, 'cli/bin/run.js');
const tsc = join(repoRoot, 'node_modules/typescript/bin/tsc');
const run = promisify(execFile);
const pushToken = 'round-trip-publisher';
const message = 'hello from a plugin that came through a mirror';

interface Build {
  name: string;
  status: string;
}

describe('a resource type plugin, from cc plugin new to a build that uses it', () => {
  let home: string;
  let upstream: RunningRegistry | undefined;
  let mirror: RunningRegistry | undefined;
  let server: CcServer | undefined;
  const env: Record<string, string> = {};

  async function cc(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CONVEYOR_')));
    try {
      const { stdout, stderr } = await run(process.execPath, [runJs, ...argv], {
        cwd: home,
        env: { ...base, NO_COLOR: '1', ...env },
      });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const e = error as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  }

  beforeAll(async () => {
    // Inside the repository, so that the new package builds against its TypeScript, @types/node
    // and plugin API, as it would in a project that depends on them.
    home = await mkdtemp(join(repoRoot, 'test', '.plugin-round-trip-'));
    await chmod(home, 0o755);
    env.CONVEYOR_HOME = join(home, 'cli');
    upstream = await startRegistryMirror({
      root: join(home, 'upstream'),
      port: 0,
      auth: {
        tokens: [{ token: pushToken, access: [{ repository: 'plugins/**', actions: ['*'] }] }],
        anonymous: 'pull',
      },
    });
    mirror = await startRegistryMirror({
      root: join(home, 'mirror'),
      port: 0,
      auth: { tokens: [], anonymous: 'pull' },
      upstream: { url: upstream.url },
    });
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    await mirror?.close();
    await upstream?.close();
    if (home) await rm(home, { recursive: true, force: true });
  });

  it('publishes, mirrors, installs into a running server and runs a build', async () => {
    // 1. The author: scaffold, build, sign and publish to the upstream registry.
    const made = await cc('plugin', 'new', 'resource-type', 'hello', '--dir', join(home, 'hello'));
    expect(made.code, made.stderr).toBe(0);
    const build = await run(process.execPath, [tsc, '-p', join(home, 'hello')]).catch((e) => e);
    expect(build.code ?? 0, `${build.stdout}${build.stderr}`).toBe(0);
    const built = await readFile(join(home, 'hello/dist/index.js'), 'utf8');
    const imports = [...built.matchAll(/from '([^']+)'/g)].map((m) => m[1]);
    expect(imports.filter((i) => !i?.startsWith('node:'))).toEqual(['@conveyor/plugin-api']);
    const keys = await cc('plugin', 'keygen', '-o', join(home, 'publisher'));
    expect(keys.code, keys.stderr).toBe(0);
    const published = await cc(
      ...['plugin', 'publish', join(home, 'hello'), '--registry', `${upstream?.url}/plugins`],
      ...['--token', pushToken, '--sign-key', join(home, 'publisher.pem'), '--json'],
    );
    expect(published.code, published.stderr + published.stdout).toBe(0);
    const { digest } = JSON.parse(published.stdout) as { digest: string };

    // 2. The operator: a server on a fresh data dir, local runtime and naive volumes of its own.
    const data = join(home, 'data');
    const config = join(home, 'conveyor.yaml');
    await writeFile(
      config,
      `runtime: { plugin: local, config: { root: ${join(home, 'containers')} } }\nvolumes: { driver: naive, config: { root: ${join(home, 'volumes')} } }\n`,
    );
    server = await startCcServer(['--data-dir', data, '--config', config], env);
    const api = apiClient(server.url, server.token ?? '');

    // 3. Install through the mirror, trusting the publisher's key, while the server runs.
    const installed = await cc(
      ...['plugin', 'install', 'hello@^1', '--registry', `${mirror?.url}/plugins`],
      ...['--data-dir', data, '--trust', join(home, 'publisher.pub'), '--json'],
    );
    expect(installed.code, installed.stderr + installed.stdout).toBe(0);
    expect(installed.stdout).toContain(digest);
    // The mirror served it, and keeps a copy of its own.
    const cached = await fetch(`${mirror?.url}/v2/plugins/hello/manifests/${digest}`, { method: 'HEAD' });
    expect(cached.status).toBe(200);

    // 4. A pipeline with type: hello. The server takes the plugin up within seconds, no restart.
    const pipeline = join(home, 'pipeline.yml');
    await writeFile(
      pipeline,
      `
resources:
  - name: greeting
    type: hello
    check_every: 1s
    source: { message: "${message}", count: 2 }

jobs:
  - name: greet
    plan:
      - get: greeting
      - task: read
        config:
          platform: linux
          inputs: [{ name: greeting }]
          run:
            path: sh
            args: [-ec, 'echo "read: $(cat greeting/message.txt) (version $(cat greeting/version))"']
`,
    );
    let lastSet = '';
    await eventually(
      'the server to accept type: hello',
      async () => {
        const set = await cc('set-pipeline', '-p', 'rt', '-c', pipeline, '--non-interactive');
        lastSet = set.stderr + set.stdout;
        return set.code === 0 ? true : undefined;
      },
      30_000,
    ).catch((error) => {
      throw new Error(`${(error as Error).message}: ${lastSet}\n${server?.output()}`);
    });
    expect((await cc('unpause-pipeline', '-p', 'rt')).code).toBe(0);
    const checked = await cc('check-resource', '-r', 'rt/greeting');
    expect(checked.code, checked.stderr + checked.stdout).toBe(0);

    // 5. Trigger the job: it succeeds and its log shows what the get wrote.
    const triggered = await cc('trigger-job', '-j', 'rt/greet');
    expect(triggered.code, triggered.stderr).toBe(0);
    const finished = await eventually('greet #1 to finish', async () => {
      const builds = await api<Build[]>('GET', '/teams/main/pipelines/rt/jobs/greet/builds');
      const found = builds.find((b) => b.name === '1');
      return found && !['pending', 'started'].includes(found.status) ? found : undefined;
    });
    const log = await cc('watch', '-j', 'rt/greet', '-b', '1');
    expect(finished.status, `${log.stdout}\n${log.stderr}\n${server.output()}`).toBe('succeeded');
    expect(log.stdout).toContain(`read: ${message} (version 2)`);
  }, 240_000);
});
