import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from '@conveyor/core/server';
import { createTestDatabase, type TestDatabase } from '@conveyor/test/harness/database.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const pluginDir = (p: string) => fileURLToPath(new URL(`../../../plugins/${p}/`, import.meta.url));

// Overlay mounts need root; CI runs as root, so there this must not skip.
const notRoot = process.getuid?.() !== 0;
if (notRoot && process.env.CI === 'true') throw new Error('CI must run the auto volume driver test as root');
if (notRoot) console.warn('\n!!! SKIPPING the auto volume driver test: overlay mounts need root\n');

/**
 * `volumes.driver: auto` picks the first driver that works on this host, in baggageclaim's order:
 * overlay, then btrfs, then naive. Each is asked through its `info`, which refuses where the
 * driver cannot work (here: btrfs, whose root is not on btrfs).
 */
describe.skipIf(notRoot)('volumes.driver: auto', () => {
  let home: string;
  let database: TestDatabase;

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'conveyor-auto-driver-'));
    await chmod(home, 0o755);
    database = await createTestDatabase();
  });

  afterAll(async () => {
    await database?.drop();
    if (home) await rm(home, { recursive: true, force: true });
  });

  async function chosenDriver(plugins: string[]): Promise<{ driver: string; log: string[] }> {
    const config = join(home, 'conveyor.yaml');
    await writeFile(config, `volumes: { driver: auto, config: { root: ${join(home, 'volumes')} } }\n`);
    const log: string[] = [];
    const server = await startServer({
      configFile: config,
      dataDir: join(home, 'data'),
      host: '127.0.0.1',
      port: 0,
      builtinPluginDirs: ['runtime-local', 'credentials-env', ...plugins].map(pluginDir),
      env: { CONVEYOR_DATABASE_URL: database.url },
      logStream: { write() {} },
      log: (line) => log.push(line),
    });
    try {
      const response = await fetch(`${server.url}/api/v1/info`, {
        headers: { authorization: `Bearer ${server.adminToken ?? ''}` },
      });
      expect(response.ok).toBe(true);
    } finally {
      await server.close();
    }
    const used = log.map((line) => /volumes.driver auto: using (\S+)/.exec(line)?.[1]).find(Boolean);
    return { driver: used ?? 'naive', log };
  }

  it('picks overlay where overlays mount', async () => {
    const { driver } = await chosenDriver(['volume-naive', 'volume-overlay', 'volume-btrfs']);
    expect(driver).toBe('overlay');
  });

  it('passes over btrfs when its root is not on btrfs, saying why, and falls back to naive', async () => {
    const { driver, log } = await chosenDriver(['volume-naive', 'volume-btrfs']);
    expect(driver).toBe('naive');
    expect(log.join('\n')).toMatch(/btrfs does not work here \(.*not btrfs/);
  });
});
