import { type DiscoveredPlugin, listInstalledPlugins, syncInstalledPlugins } from '@conveyor/core/db';
import { isConveyorError } from '@conveyor/core/errors';
import { createTestDatabase, type TestDatabase } from '@conveyor/test/harness/database.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.drop();
});

beforeEach(async () => {
  await database.pool.query('DELETE FROM installed_plugins');
});

const git: DiscoveredPlugin = {
  name: 'git',
  version: '2.1.0',
  kind: 'resource-type',
  apiVersion: '^1.0',
  source: 'installed',
  path: '/var/lib/conveyor/plugins/git/2.1.0',
  digest: 'sha256:aaaa',
};
const local: DiscoveredPlugin = {
  name: 'local',
  version: '1.0.0',
  kind: 'runtime',
  apiVersion: '^1.0',
  source: 'builtin',
  path: '/usr/lib/conveyor/plugins/runtime-local',
};

async function listed() {
  return (await listInstalledPlugins(database.pool)).map((row) => ({
    name: row.name,
    version: row.version,
    kind: row.kind,
    api_version: row.api_version,
    source: row.source,
    path: row.path,
    digest: row.digest,
  }));
}

describe('syncInstalledPlugins', () => {
  it('inserts the discovered plugins', async () => {
    expect(await syncInstalledPlugins(database.pool, [git, local])).toEqual({ written: 2, deleted: 0 });
    expect(await listed()).toEqual([
      {
        name: 'git',
        version: '2.1.0',
        kind: 'resource-type',
        api_version: '^1.0',
        source: 'installed',
        path: git.path,
        digest: 'sha256:aaaa',
      },
      {
        name: 'local',
        version: '1.0.0',
        kind: 'runtime',
        api_version: '^1.0',
        source: 'builtin',
        path: local.path,
        digest: null,
      },
    ]);
  });

  it('updates what changed, keeps what did not, deletes what is gone', async () => {
    await syncInstalledPlugins(database.pool, [git, local]);
    const [gitBefore] = await listInstalledPlugins(database.pool);

    const linkedGit = {
      ...git,
      source: 'linked' as const,
      path: '/home/dev/git-resource',
      digest: undefined,
    };
    const gitThree = { ...git, version: '3.0.0', path: '/var/lib/conveyor/plugins/git/3.0.0' };
    expect(await syncInstalledPlugins(database.pool, [linkedGit, gitThree])).toEqual({
      written: 2,
      deleted: 1,
    });

    const rows = await listInstalledPlugins(database.pool);
    expect(rows.map((row) => `${row.name}@${row.version} ${row.source} ${row.path} ${row.digest}`)).toEqual([
      'git@2.1.0 linked /home/dev/git-resource null',
      'git@3.0.0 installed /var/lib/conveyor/plugins/git/3.0.0 sha256:aaaa',
    ]);
    // Updated in place, not deleted and re-inserted.
    expect(rows[0]?.id).toBe(gitBefore?.id);

    // The same set again changes nothing.
    expect(await syncInstalledPlugins(database.pool, [linkedGit, gitThree])).toEqual({
      written: 0,
      deleted: 0,
    });
  });

  it('empties the table when nothing is discovered', async () => {
    await syncInstalledPlugins(database.pool, [git, local]);
    expect(await syncInstalledPlugins(database.pool, [])).toEqual({ written: 0, deleted: 2 });
    expect(await listed()).toEqual([]);
  });

  it('refuses a set that names one plugin version twice, and changes nothing', async () => {
    await syncInstalledPlugins(database.pool, [local]);
    const error = await syncInstalledPlugins(database.pool, [git, { ...git, path: '/elsewhere' }]).catch(
      (caught: unknown) => caught,
    );
    expect(isConveyorError(error, 'CC_E_DB_PLUGIN_DUPLICATE')).toBe(true);
    expect((await listed()).map((row) => row.name)).toEqual(['local']);
  });
});
