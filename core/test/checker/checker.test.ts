import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { type CheckResourceFn, startChecker } from '@conveyor/core/checker';
import { getResource, listResourceVersions, type Pool, requestResourceCheck } from '@conveyor/core/db';
import { PluginHost } from '@conveyor/core/plugins';
import { createTestDatabase, type TestDatabase } from '@conveyor/test/harness/database.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPipeline, input, job, model, resource } from '../scheduler/fixtures.js';

const mockPlugin = fileURLToPath(new URL('../../../plugins/resource-mock/', import.meta.url));

let database: TestDatabase;
let pool: Pool;
let host: PluginHost;

beforeAll(async () => {
  database = await createTestDatabase();
  pool = database.pool;
  host = await PluginHost.create({ builtinDirs: [mockPlugin], callTimeoutMs: 30_000 });
});

afterAll(async () => {
  await host?.close();
  await database?.drop();
});

/** Checks through the resource-type plugin the resource names, as the server does. */
const viaPlugin: CheckResourceFn = async (target, lastVersion, { signal }) => {
  const client = host.client('resource-type', target.type);
  const { versions } = await client.call(
    'check',
    { source: target.source, ...(lastVersion ? { version: lastVersion } : {}) },
    { signal },
  );
  return versions;
};

const versionsOf = async (resourceId: number, key = 'version') =>
  (await listResourceVersions(pool, resourceId)).items.map((row) => row.version[key]);

/** Only this test's resources are due: the others' checks are pushed far away. */
async function onlyDue(resourceIds: number[]): Promise<void> {
  await pool.query(
    `UPDATE resources SET next_check_at = now() + interval '1 day', check_requested_at = NULL
     WHERE NOT (id = ANY($1::integer[]))`,
    [resourceIds],
  );
}

describe('checker with the mock resource type', () => {
  it('stores what the check finds, checks again from the newest version, and records failures', async () => {
    const p = await createPipeline(
      pool,
      model(
        [
          resource('repo', { source: { initial_version: 'first' } }),
          resource('broken', { source: { check_failure: 'the remote is down' } }),
        ],
        [job('unit', [input('repo')])],
      ),
    );
    const repo = p.resources.repo as number;
    const broken = p.resources.broken as number;
    await onlyDue([repo, broken]);
    await pool.query('UPDATE jobs SET last_scheduled_at = now() WHERE id = $1', [p.jobs.unit]);

    const checker = startChecker({
      pool,
      owner: 'checker-1',
      checkResource: viaPlugin,
      intervalMs: 3_600_000,
    });
    try {
      await checker.runNow();
      expect(await versionsOf(repo)).toEqual(['first']);
      const checked = await getResource(pool, repo);
      expect(checked?.last_check_error).toBeNull();
      expect(checked?.last_checked_at).toBeInstanceOf(Date);
      // Due again one check_every (a minute) after the check.
      expect(
        (checked?.next_check_at.getTime() ?? 0) - (checked?.last_checked_at?.getTime() ?? 0),
      ).toBeGreaterThan(50_000);
      expect((await getResource(pool, broken))?.last_check_error).toContain('the remote is down');

      // A new version asks for the job it triggers to be scheduled.
      const { rows } = await pool.query(
        'SELECT schedule_requested_at > last_scheduled_at AS due FROM jobs WHERE id = $1',
        [p.jobs.unit],
      );
      expect(rows).toEqual([{ due: true }]);

      // `cc check-resource --from`: the mock gives the version back, which becomes the newest.
      const result = await checker.checkNow(repo, { from: { version: 'second' } });
      expect(result.status).toBe('succeeded');
      expect(result.status === 'succeeded' && result.versions.map((row) => row.version.version)).toEqual([
        'second',
      ]);
      expect(await versionsOf(repo)).toEqual(['second', 'first']);

      // The next check starts from the newest version and finds nothing new.
      await requestResourceCheck(pool, repo);
      await checker.runNow();
      expect(await versionsOf(repo)).toEqual(['second', 'first']);
      expect((await getResource(pool, repo))?.check_requested_at).toBeNull();

      const failed = await checker.checkNow(broken);
      expect(failed).toMatchObject({
        status: 'errored',
        error: expect.stringContaining('the remote is down'),
      });
    } finally {
      await checker.stop();
    }
  });

  it('checks a check_every: never resource only when asked', async () => {
    const p = await createPipeline(
      pool,
      model([resource('manual', { checkEveryMs: null, source: { initial_version: 'm1' } })], []),
    );
    const manual = p.resources.manual as number;
    await onlyDue([manual]);
    const checker = startChecker({
      pool,
      owner: 'checker-2',
      checkResource: viaPlugin,
      intervalMs: 3_600_000,
    });
    try {
      await checker.runNow();
      expect(await versionsOf(manual)).toEqual([]);
      await requestResourceCheck(pool, manual);
      await checker.runNow();
      expect(await versionsOf(manual)).toEqual(['m1']);
    } finally {
      await checker.stop();
    }
  });

  it('gives up on a check that outlives its check_timeout', async () => {
    const p = await createPipeline(
      pool,
      model([resource('slow', { checkTimeoutMs: 300, source: { check_delay: '30s' } })], []),
    );
    const checker = startChecker({
      pool,
      owner: 'checker-3',
      checkResource: viaPlugin,
      intervalMs: 3_600_000,
    });
    try {
      const result = await checker.checkNow(p.resources.slow as number);
      expect(result).toMatchObject({ status: 'errored', error: expect.stringContaining('timed out') });
      expect((await getResource(pool, p.resources.slow as number))?.last_check_error).toContain('timed out');
    } finally {
      await checker.stop();
    }
  });
});

describe('version order', () => {
  it('stores versions in the order checked, and moves a version found again to the front', async () => {
    const p = await createPipeline(pool, model([resource('repo')], []));
    const repo = p.resources.repo as number;
    await onlyDue([]);
    const answers = [[{ v: 'v1' }, { v: 'v2' }, { v: 'v3' }], [{ v: 'v3' }, { v: 'v4' }], [{ v: 'v1' }]];
    const froms: Array<string | undefined> = [];
    const checker = startChecker({
      pool,
      owner: 'checker-4',
      intervalMs: 3_600_000,
      checkResource: async (_target, lastVersion) => {
        froms.push(lastVersion?.v);
        return answers.shift() ?? [];
      },
    });
    try {
      await checker.checkNow(repo);
      expect(await versionsOf(repo, 'v')).toEqual(['v3', 'v2', 'v1']);
      await checker.checkNow(repo);
      expect(await versionsOf(repo, 'v')).toEqual(['v4', 'v3', 'v2', 'v1']);
      await checker.checkNow(repo);
      expect(await versionsOf(repo, 'v')).toEqual(['v1', 'v4', 'v3', 'v2']);
      expect(froms).toEqual([undefined, 'v3', 'v4']);
    } finally {
      await checker.stop();
    }
  });

  it('records a check that returns something other than versions as failed', async () => {
    const p = await createPipeline(pool, model([resource('odd')], []));
    const checker = startChecker({
      pool,
      owner: 'checker-5',
      intervalMs: 3_600_000,
      checkResource: async () => [{ v: 1 }] as never,
    });
    try {
      const result = await checker.checkNow(p.resources.odd as number);
      expect(result).toMatchObject({ status: 'errored', error: expect.stringContaining('list of versions') });
    } finally {
      await checker.stop();
    }
  });
});

describe('two checkers', () => {
  it('never check one resource at the same time', async () => {
    const p = await createPipeline(
      pool,
      model(
        Array.from({ length: 8 }, (_, i) => resource(`r${i}`)),
        [],
      ),
    );
    const resourceIds = Object.values(p.resources);
    await onlyDue(resourceIds);
    const running = new Map<number, number>();
    const checks = new Map<number, number>();
    let overlaps = 0;
    const checkResource: CheckResourceFn = async (target) => {
      running.set(target.id, (running.get(target.id) ?? 0) + 1);
      checks.set(target.id, (checks.get(target.id) ?? 0) + 1);
      if ((running.get(target.id) ?? 0) > 1) overlaps++;
      // Long enough for the other checker's claims to meet this one's.
      await sleep(20);
      running.set(target.id, (running.get(target.id) ?? 0) - 1);
      return [{ v: `${target.id}` }];
    };
    const one = startChecker({ pool, owner: 'one', checkResource, intervalMs: 3_600_000, concurrency: 3 });
    const two = startChecker({ pool, owner: 'two', checkResource, intervalMs: 3_600_000, concurrency: 3 });
    try {
      await Promise.all([one.runNow(), two.runNow(), one.runNow(), two.runNow()]);
      expect(overlaps).toBe(0);
      expect([...checks.keys()].sort()).toEqual([...resourceIds].sort());
      expect([...checks.values()].every((count) => count === 1)).toBe(true);
      const { rows } = await pool.query(
        'SELECT count(*)::integer AS leased FROM resources WHERE check_lease_owner IS NOT NULL',
      );
      expect(rows).toEqual([{ leased: 0 }]);
    } finally {
      await Promise.all([one.stop(), two.stop()]);
    }
  });
});
