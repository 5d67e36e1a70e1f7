import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createOneOffBuild,
  EXPIRES_LABEL,
  finishBuild,
  listContainerRecords,
  listVolumeRecords,
  type Pool,
  recordContainer,
  recordVolume,
} from '@conveyor/core/db';
import { collectGarbage, conveyorLabels, type GcOptions } from '@conveyor/core/gc';
import { type PluginClient, PluginHost } from '@conveyor/core/plugins';
import { createTestDatabase, type TestDatabase } from '@conveyor/test/harness/database.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const pluginsDir = fileURLToPath(new URL('../../../plugins/', import.meta.url));

let database: TestDatabase;
let pool: Pool;
let host: PluginHost;
let scratch: string;
let runtime: PluginClient<'runtime'>;
let volumes: PluginClient<'volume'>;
let gc: GcOptions;

beforeAll(async () => {
  database = await createTestDatabase();
  pool = database.pool;
  scratch = await mkdtemp(join(tmpdir(), 'conveyor-gc-test-'));
  host = await PluginHost.create({
    builtinDirs: [join(pluginsDir, 'runtime-local'), join(pluginsDir, 'volume-naive')],
    callTimeoutMs: 30_000,
  });
  runtime = host.client('runtime', 'local', { root: join(scratch, 'containers') });
  volumes = host.client('volume', 'naive', { root: join(scratch, 'volumes') });
  gc = { pool, runtimes: new Map([['local', runtime]]), volumeDrivers: new Map([['naive', volumes]]) };
});

afterAll(async () => {
  await host?.close();
  await database?.drop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

/** A container made as the executor makes one: row first, then the runtime's container. */
async function container(
  handle: string,
  buildId: number | null,
  options: { row?: boolean; labels?: Record<string, string> } = {},
) {
  const labels = options.labels ?? conveyorLabels(buildId);
  if (options.row !== false) {
    await recordContainer(pool, {
      handle,
      runtime: 'local',
      worker: 'local',
      buildId,
      labels,
      state: 'created',
    });
  }
  await runtime.call('createContainer', { handle, spec: { image: { type: 'host' } }, labels });
}

async function volume(
  handle: string,
  buildId: number | null,
  options: { row?: boolean; labels?: Record<string, string>; parent?: string; mountedIn?: string } = {},
) {
  const labels = options.labels ?? conveyorLabels(buildId);
  if (options.row !== false) {
    await recordVolume(pool, {
      handle,
      driver: 'naive',
      worker: 'local',
      buildId,
      labels,
      parentHandle: options.parent,
      containerHandle: options.mountedIn,
      state: 'created',
    });
  }
  await volumes.call('createVolume', {
    handle,
    strategy: options.parent === undefined ? { type: 'empty' } : { type: 'child', parent: options.parent },
    labels,
  });
}

const containersLeft = async () =>
  (await runtime.call('listContainers', {})).containers.map((info) => info.handle).sort();
const volumesLeft = async () =>
  (await volumes.call('listVolumes', {})).volumes.map((info) => info.volume.handle).sort();

describe('collectGarbage', () => {
  it('destroys what finished builds and crashes left, and nothing else', async () => {
    const finished = await createOneOffBuild(pool, { team: 'main', plan: {} });
    const running = await createOneOffBuild(pool, { team: 'main', plan: {} });
    const deleted = await createOneOffBuild(pool, { team: 'main', plan: {} });

    await container('c-finished', finished.id);
    await volume('v-finished', finished.id, { mountedIn: 'c-finished' });
    await volume('v-finished-child', finished.id, { parent: 'v-finished' });
    await container('c-running', running.id);
    await volume('v-running', running.id, { mountedIn: 'c-running' });
    await container('c-deleted', deleted.id);
    // A cache: Conveyor's, but no build's. Its owner releases it, not gc.
    await volume('v-cache', null);
    // Left by a crash between creating and recording: labelled, no row.
    await container('c-orphan', null, { row: false });
    await volume('v-orphan', null, { row: false });
    await volume('v-orphan-child', null, { row: false, parent: 'v-orphan' });
    // Not Conveyor's at all.
    await container('c-foreign', null, { row: false, labels: { team: 'other' } });
    await volume('v-foreign', null, { row: false, labels: {} });
    // A row whose runtime is not configured here.
    await recordContainer(pool, {
      handle: 'c-ghost',
      runtime: 'ghost',
      worker: 'local',
      state: 'destroying',
    });

    await finishBuild(pool, finished.id, 'succeeded');
    await pool.query('DELETE FROM builds WHERE id = $1', [deleted.id]);

    const report = await collectGarbage(gc);
    expect(report.containers.sort()).toEqual(['c-deleted', 'c-finished']);
    expect(report.volumes).toEqual(['v-finished-child', 'v-finished']);
    expect(report.orphanContainers).toEqual(['c-orphan']);
    expect(report.orphanVolumes).toEqual(['v-orphan-child', 'v-orphan']);
    expect(report.errors.map((error) => [error.code, error.details.handle])).toEqual([
      ['CC_E_SCHEDULER_GC_DESTROY_FAILED', 'c-ghost'],
    ]);

    expect(await containersLeft()).toEqual(['c-foreign', 'c-running']);
    expect(await volumesLeft()).toEqual(['v-cache', 'v-foreign', 'v-running']);
    expect((await listContainerRecords(pool)).map((row) => [row.handle, row.state])).toEqual([
      ['c-running', 'created'],
      ['c-ghost', 'destroying'],
    ]);
    expect((await listVolumeRecords(pool)).map((row) => row.handle).sort()).toEqual(['v-cache', 'v-running']);

    // Again: nothing more to do, the ghost still waits for its runtime.
    const again = await collectGarbage(gc);
    expect([again.containers, again.volumes, again.orphanContainers, again.orphanVolumes]).toEqual([
      [],
      [],
      [],
      [],
    ]);
    expect(again.errors).toHaveLength(1);

    // Once the running build ends, its container goes, then the volume mounted in it.
    await finishBuild(pool, running.id, 'failed');
    const last = await collectGarbage(gc);
    expect(last.containers).toEqual(['c-running']);
    expect(last.volumes).toEqual(['v-running']);
    expect(await containersLeft()).toEqual(['c-foreign']);
    expect(await volumesLeft()).toEqual(['v-cache', 'v-foreign']);
  });

  it("sweeps only its own installation's orphans, never another installation's", async () => {
    const mine = { ...gc, installation: 'aaaaaaaaaaaaaaaa' };
    await container('c-mine-orphan', null, { row: false, labels: conveyorLabels(null, 'aaaaaaaaaaaaaaaa') });
    await volume('v-mine-orphan', null, { row: false, labels: conveyorLabels(null, 'aaaaaaaaaaaaaaaa') });
    // Another installation's, sharing this runtime and driver storage: not ours to take.
    await container('c-theirs', null, { row: false, labels: conveyorLabels(null, 'bbbbbbbbbbbbbbbb') });
    await volume('v-theirs', null, { row: false, labels: conveyorLabels(null, 'bbbbbbbbbbbbbbbb') });

    const report = await collectGarbage(mine);
    expect(report.orphanContainers).toEqual(['c-mine-orphan']);
    expect(report.orphanVolumes).toEqual(['v-mine-orphan']);
    expect(await containersLeft()).toContain('c-theirs');
    expect(await volumesLeft()).toContain('v-theirs');
    await runtime.call('destroyContainer', { handle: 'c-theirs' });
    await volumes.call('destroyVolume', { handle: 'v-theirs' });
  });

  it('keeps the row when the plugin fails, for the next pass', async () => {
    const build = await createOneOffBuild(pool, { team: 'main', plan: {} });
    await recordVolume(pool, { handle: 'v-broken', driver: 'naive', worker: 'local', buildId: build.id });
    await finishBuild(pool, build.id, 'errored');
    // A driver whose root is a plain file fails every call, as a broken disk would.
    const notADirectory = join(scratch, 'not-a-directory');
    await writeFile(notADirectory, '');
    const failing = host.client('volume', 'naive', { root: notADirectory });
    const report = await collectGarbage({ ...gc, volumeDrivers: new Map([['naive', failing]]) });
    expect(report.volumes).toEqual([]);
    expect(report.errors.some((error) => error.details.handle === 'v-broken')).toBe(true);
    expect((await listVolumeRecords(pool, { buildId: build.id })).map((row) => row.state)).toEqual([
      'destroying',
    ]);

    const next = await collectGarbage(gc);
    expect(next.volumes).toEqual(['v-broken']);
    expect(await listVolumeRecords(pool, { buildId: build.id })).toEqual([]);
  });

  it('reaps a container of no build once its expiry has passed (a check the server died during)', async () => {
    const past = new Date(Date.now() - 60_000).toISOString();
    const future = new Date(Date.now() + 60 * 60_000).toISOString();
    await container('c-check-expired', null, { labels: { ...conveyorLabels(null), [EXPIRES_LABEL]: past } });
    await container('c-check-running', null, {
      labels: { ...conveyorLabels(null), [EXPIRES_LABEL]: future },
    });

    const report = await collectGarbage(gc);
    expect(report.containers).toContain('c-check-expired');
    expect(report.containers).not.toContain('c-check-running');
    expect(await containersLeft()).toContain('c-check-running');
    expect(await containersLeft()).not.toContain('c-check-expired');
  });
});
