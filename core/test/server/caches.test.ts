import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { collectGarbage } from '@conveyor/core/gc';
import { type RunningServer, startServer } from '@conveyor/core/server';
import { createTestDatabase, type TestDatabase } from '@conveyor/test/harness/database.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const builtinPluginDirs = ['runtime-local', 'volume-naive', 'credentials-env', 'resource-mock'].map((p) =>
  fileURLToPath(new URL(`../../../plugins/${p}/`, import.meta.url)),
);

interface Build {
  id: number;
  name: string;
  status: string;
}

/**
 * Resource and task caches through the whole server: a get of a version already fetched is served
 * from its cache without calling the resource type again, its step gets a copy the task may
 * scribble on without reaching the cache, and a task's `caches:` path keeps its files from one
 * build of the job to the next.
 */
describe('resource and task caches', () => {
  let home: string;
  let database: TestDatabase;
  let server: RunningServer;
  let api: <T>(method: string, path: string, body?: unknown) => Promise<T>;

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'conveyor-caches-'));
    await chmod(home, 0o755);
    database = await createTestDatabase();
    const config = join(home, 'conveyor.yaml');
    await writeFile(
      config,
      `volumes: { driver: naive, config: { root: ${join(home, 'volumes')} } }\nruntime: { plugin: local, config: { root: ${join(home, 'containers')} } }\n`,
    );
    server = await startServer({
      configFile: config,
      dataDir: join(home, 'data'),
      host: '127.0.0.1',
      port: 0,
      builtinPluginDirs,
      env: { CONVEYOR_DATABASE_URL: database.url },
      logStream: { write() {} },
      loopIntervalMs: 200,
    });
    const auth = { authorization: `Bearer ${server.adminToken}` };
    api = async <T>(method: string, path: string, body?: unknown) => {
      const response = await fetch(`${server.url}/api/v1${path}`, {
        method,
        headers: body === undefined ? auth : { ...auth, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await response.text();
      if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
      return (text ? JSON.parse(text) : undefined) as T;
    };
  }, 60_000);

  afterAll(async () => {
    await server?.close();
    await database?.drop();
    if (home) await rm(home, { recursive: true, force: true });
  });

  const runBuild = async (): Promise<{ build: Build; log: string }> => {
    const triggered = await api<Build>('POST', '/teams/main/pipelines/cached/jobs/use/builds');
    for (let i = 0; i < 300; i++) {
      const build = await api<Build>('GET', `/builds/${triggered.id}`);
      if (!['pending', 'started'].includes(build.status)) {
        // The build's stored events, as `cc watch` would show them.
        const { rows } = await database.pool.query(
          'SELECT payload FROM build_events WHERE build_id = $1 ORDER BY event_id',
          [build.id],
        );
        const text = JSON.stringify(rows);
        return { build, log: text };
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`build ${triggered.id} did not finish`);
  };

  it('fetches a version once, shields the cache from the task, and keeps task caches across builds', async () => {
    await api('PUT', '/teams/main/pipelines/cached/config', {
      config: `
resources:
  - name: thing
    type: mock
    check_every: never
    source:
      initial_version: v1
      log: FETCHING-THING
      create_files: { file.txt: original }
jobs:
  - name: use
    plan:
      - get: thing
      - task: scribble
        config:
          platform: linux
          inputs: [{ name: thing }]
          caches: [{ path: cache }]
          run:
            path: sh
            args:
              - -ec
              - |
                echo "saw $(cat thing/file.txt)"
                echo scribbled > thing/file.txt
                echo run >> cache/runs
                echo "runs $(wc -l < cache/runs)"
`,
    });
    await api('PUT', '/teams/main/pipelines/cached/unpause');
    await api('POST', '/teams/main/pipelines/cached/resources/thing/check', {});

    const first = await runBuild();
    expect(first.build.status, first.log).toBe('succeeded');
    expect(first.log).toContain('FETCHING-THING');
    expect(first.log).toContain('saw original');
    expect(first.log).toContain('runs 1');

    const second = await runBuild();
    expect(second.build.status, second.log).toBe('succeeded');
    // Served from the cache: the resource type was not asked again...
    expect(second.log).not.toContain('FETCHING-THING');
    // ...and the first task's scribbling did not reach it.
    expect(second.log).toContain('saw original');
    // The task cache kept the first build's file.
    expect(second.log).toContain('runs 2');

    const { rows: caches } = await database.pool.query(
      `SELECT state, resource_type, version FROM resource_caches`,
    );
    expect(caches).toEqual([
      { state: 'ready', resource_type: expect.stringMatching(/^mock@/), version: { version: 'v1' } },
    ]);
    const { rows: taskCaches } = await database.pool.query(`SELECT step_name, path FROM task_caches`);
    expect(taskCaches).toEqual([{ step_name: 'scribble', path: 'cache' }]);
  });

  it('hands stale caches to gc, which destroys them once no build uses them', async () => {
    const volumes = server.plugins.client('volume', 'naive', { root: join(home, 'volumes') });
    const cacheHandles = async () =>
      (
        await database.pool.query<{ volume_handle: string }>(
          'SELECT volume_handle FROM resource_caches UNION ALL SELECT volume_handle FROM task_caches',
        )
      ).rows.map((row) => row.volume_handle);
    const handles = await cacheHandles();
    expect(handles).toHaveLength(2);

    // Removing the job retires its task cache; an idle limit of 0 retires the resource cache.
    await api('PUT', '/teams/main/pipelines/cached/config', {
      config:
        'resources: []\njobs: [{ name: other, plan: [{ task: t, config: { platform: linux, run: { path: "true" } } }] }]\n',
    });
    const report = await collectGarbage({
      pool: database.pool,
      runtimes: new Map(),
      volumeDrivers: new Map([['naive', volumes]]),
      cacheIdleMs: 0,
    });
    expect(report.volumes).toEqual(expect.arrayContaining(handles));
    expect(await cacheHandles()).toEqual([]);
    const { volumes: left } = await volumes.call('listVolumes', {});
    expect(left.map((v) => v.volume.handle).filter((h) => handles.includes(h))).toEqual([]);
  });
});
