import { chmod, cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type RunningServer, startServer } from '@conveyor/core/server';
import { createTestDatabase, type TestDatabase } from '@conveyor/test/harness/database.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const pluginDir = (p: string) => fileURLToPath(new URL(`../../../plugins/${p}/`, import.meta.url));
const fixture = fileURLToPath(new URL('../../../test/fixtures/plugins/echo-v1/', import.meta.url));

/** A plugin put into the store while the server runs (what `cc plugin install` does) is picked up. */
describe('the plugin store, watched', () => {
  let home: string;
  let store: string;
  let database: TestDatabase;
  let server: RunningServer;

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'conveyor-store-watch-'));
    await chmod(home, 0o755);
    store = join(home, 'plugins');
    await mkdir(store);
    database = await createTestDatabase();
    const config = join(home, 'conveyor.yaml');
    await writeFile(
      config,
      `plugins: { dir: ${store} }\nruntime: { plugin: local, config: { root: ${join(home, 'containers')} } }\nvolumes: { driver: naive, config: { root: ${join(home, 'volumes')} } }\n`,
    );
    server = await startServer({
      configFile: config,
      dataDir: join(home, 'data'),
      host: '127.0.0.1',
      port: 0,
      builtinPluginDirs: ['runtime-local', 'volume-naive', 'credentials-env'].map(pluginDir),
      env: { CONVEYOR_DATABASE_URL: database.url },
      logStream: { write() {} },
      loopIntervalMs: 100,
    });
  });

  afterAll(async () => {
    await server?.close();
    await database?.drop();
    if (home) await rm(home, { recursive: true, force: true });
  });

  const listed = async () => {
    const response = await fetch(`${server.url}/api/v1/plugins`, {
      headers: { authorization: `Bearer ${server.adminToken ?? ''}` },
    });
    const body = (await response.json()) as {
      plugins: Array<{ name: string; version: string; source: string }>;
    };
    return body.plugins.map((p) => `${p.name}@${p.version}:${p.source}`);
  };

  async function eventually(check: () => Promise<boolean>): Promise<boolean> {
    for (let i = 0; i < 100; i++) {
      if (await check()) return true;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return false;
  }

  it('lists a plugin installed into the store, and forgets it once it is removed', async () => {
    expect(await listed()).not.toContain('echo@1.0.0:installed');
    await cp(fixture, join(store, 'echo', '1.0.0'), { recursive: true });
    expect(await eventually(async () => (await listed()).includes('echo@1.0.0:installed'))).toBe(true);
    const { rows } = await database.pool.query<{ name: string }>(
      `SELECT name FROM installed_plugins WHERE name = 'echo'`,
    );
    expect(rows).toHaveLength(1);

    await rm(join(store, 'echo'), { recursive: true, force: true });
    expect(await eventually(async () => !(await listed()).some((p) => p.startsWith('echo@')))).toBe(true);
  });

  /** A resource type whose put says which version of it ran. */
  async function installVersioned(version: string, name = 'versioned'): Promise<void> {
    const dir = join(store, name, version);
    await mkdir(dir, { recursive: true });
    await writeFile(
      join(dir, 'conveyor-plugin.json'),
      JSON.stringify({
        name,
        version,
        kind: 'resource-type',
        apiVersion: '^1.0',
        main: 'index.js',
        description: 'Test resource type: its put logs its own version.',
      }),
    );
    await writeFile(
      join(dir, 'index.js'),
      `import { defineResourceType } from '@conveyor/plugin-api';
export default defineResourceType({
  check: () => ({ versions: [] }),
  get: ({ version }) => ({ version }),
  put: (_request, context) => {
    context.log('put by ${name}@${version}');
    return { version: { v: '${version}' } };
  },
});
`,
    );
  }

  const api = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${server.url}/api/v1${path}`, {
      method,
      headers: {
        authorization: `Bearer ${server.adminToken ?? ''}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
    return text ? (JSON.parse(text) as Record<string, unknown>) : {};
  };
  const eventTypes = async (buildId: number) =>
    (
      await database.pool.query<{ type: string }>(
        'SELECT type FROM build_events WHERE build_id = $1 ORDER BY event_id',
        [buildId],
      )
    ).rows.map((row) => row.type);
  const logOf = async (buildId: number) =>
    (
      await database.pool.query<{ payload: { payload: string } }>(
        `SELECT payload FROM build_events WHERE build_id = $1 AND type = 'log' ORDER BY event_id`,
        [buildId],
      )
    ).rows
      .map((row) => row.payload.payload)
      .join('');
  const statusOf = async (buildId: number) =>
    (await database.pool.query<{ status: string }>('SELECT status FROM builds WHERE id = $1', [buildId]))
      .rows[0]?.status;

  /**
   * A pipeline named after the resource type `type` whose job waits for a gate file, then puts a
   * resource of that type; no check runs, so nothing starts a worker of the plugin before the put.
   * Answers the gate's opener and a trigger for the job.
   */
  async function gatedPutPipeline(type: string) {
    const gate = join(home, `gate-${type}`);
    await api('PUT', `/teams/main/pipelines/${type}/config`, {
      config: `resources:
  - name: r
    type: ${type}
    source: {}
    check_every: never
jobs:
  - name: j
    plan:
      - task: wait
        config:
          platform: linux
          run: { path: sh, args: [-c, 'while [ ! -e ${gate} ]; do sleep 0.05; done'] }
      - put: r
`,
    });
    await api('PUT', `/teams/main/pipelines/${type}/unpause`);
    return {
      open: () => writeFile(gate, ''),
      async trigger(): Promise<number> {
        return (await api('POST', `/teams/main/pipelines/${type}/jobs/j/builds`)).id as number;
      },
    };
  }

  it('lets a running build keep the resource type version it started with; the next build takes the new one', async () => {
    await installVersioned('1.0.0');
    expect(await eventually(async () => (await listed()).includes('versioned@1.0.0:installed'))).toBe(true);
    const pipeline = await gatedPutPipeline('versioned');
    const first = await pipeline.trigger();
    expect(await eventually(async () => (await eventTypes(first)).includes('start-task'))).toBe(true);

    // Installed while the build runs, before it reaches its put.
    await installVersioned('1.1.0');
    expect(await eventually(async () => (await listed()).includes('versioned@1.1.0:installed'))).toBe(true);
    await pipeline.open();
    expect(await eventually(async () => (await statusOf(first)) === 'succeeded')).toBe(true);
    expect(await logOf(first)).toContain('put by versioned@1.0.0');

    const second = await pipeline.trigger();
    expect(await eventually(async () => (await statusOf(second)) === 'succeeded')).toBe(true);
    expect(await logOf(second)).toContain('put by versioned@1.1.0');
  });

  it('lets a running build keep its version when `cc plugin update` removed it from the store meanwhile', async () => {
    await installVersioned('1.0.0', 'replaced');
    expect(await eventually(async () => (await listed()).includes('replaced@1.0.0:installed'))).toBe(true);
    const pipeline = await gatedPutPipeline('replaced');
    const first = await pipeline.trigger();
    expect(await eventually(async () => (await eventTypes(first)).includes('start-task'))).toBe(true);

    // What `cc plugin update` does: the new version in, the old one out of the store.
    await installVersioned('1.1.0', 'replaced');
    await rm(join(store, 'replaced', '1.0.0'), { recursive: true, force: true });
    expect(
      await eventually(async () => {
        const now = await listed();
        return now.includes('replaced@1.1.0:installed') && !now.includes('replaced@1.0.0:installed');
      }),
    ).toBe(true);
    await pipeline.open();
    expect(await eventually(async () => (await statusOf(first)) !== 'started')).toBe(true);
    expect(await logOf(first)).toContain('put by replaced@1.0.0');
    expect(await statusOf(first)).toBe('succeeded');
  });
});
