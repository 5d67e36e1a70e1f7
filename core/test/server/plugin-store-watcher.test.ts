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
});
