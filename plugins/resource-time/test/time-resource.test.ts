import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { VolumeRef } from '@conveyor/plugin-api';
import { loadPluginForTest, type PluginUnderTest } from '@conveyor/plugin-api/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
let scratch: string;
let plugin: PluginUnderTest<'resource-type'>;
let counter = 0;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'time-resource-test-'));
  plugin = await loadPluginForTest<'resource-type'>(packageDir);
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

async function directory(): Promise<{ ref: VolumeRef; path: string }> {
  const path = join(scratch, `dir-${++counter}`);
  await mkdir(path);
  return { ref: { handle: `v-${counter}`, driver: 'naive', location: { type: 'host-path', path } }, path };
}

/** The instant a version names, checked to be RFC 3339 with an offset. */
function instantOf(version: Record<string, string> | undefined): number {
  const time = version?.time ?? '';
  expect(time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/);
  return Date.parse(time);
}

const hoursAgo = (hours: number) => new Date(Date.now() - hours * 3_600_000).toISOString();

describe('time resource check', () => {
  it('emits the current time on the first check', async () => {
    const before = Date.now();
    const { value } = await plugin.call('check', { source: { interval: '1m' } });
    expect(value.versions).toHaveLength(1);
    const emitted = instantOf(value.versions[0]);
    expect(emitted).toBeGreaterThanOrEqual(before);
    expect(emitted).toBeLessThanOrEqual(Date.now());
  });

  it('emits a new version once the interval has passed since the given one, after it', async () => {
    const old = { time: hoursAgo(2) };
    const { value } = await plugin.call('check', { source: { interval: '1h' }, version: old });
    expect(value.versions).toHaveLength(2);
    expect(value.versions[0]).toEqual(old);
    expect(instantOf(value.versions[1])).toBeGreaterThan(Date.parse(old.time));

    const recent = { time: new Date().toISOString() };
    const again = await plugin.call('check', { source: { interval: '1h' }, version: recent });
    expect(again.value.versions).toEqual([recent]);
  });

  it('writes times with the offset of the location', async () => {
    const { value } = await plugin.call('check', {
      source: { location: 'Asia/Kolkata', initial_version: true },
    });
    expect(value.versions[0]?.time).toMatch(/\+05:30$/);
  });

  it('fails with a message naming the key at fault', async () => {
    await expect(plugin.call('check', { source: { location: 'Nowhere/Special' } })).rejects.toMatchObject({
      code: 'TIME_BAD_SOURCE',
      message: expect.stringContaining('location "Nowhere/Special" is not a time zone'),
    });
    await expect(plugin.call('check', { source: { start: '9:00 AM' } })).rejects.toMatchObject({
      code: 'TIME_BAD_SOURCE',
    });
  });

  it('refuses unknown source keys and non-string times, as the manifest schema says', async () => {
    await expect(plugin.call('check', { source: { intervall: '1m' } })).rejects.toMatchObject({
      code: 'CONFORMANCE_BAD_REQUEST',
    });
    await expect(plugin.call('check', { source: { start: 1504, stop: 1600 } })).rejects.toMatchObject({
      code: 'CONFORMANCE_BAD_REQUEST',
    });
  });
});

describe('time resource get', () => {
  it('writes ./input with the source and version and returns the version', async () => {
    const dir = await directory();
    const source = { interval: '5m', location: 'Europe/Paris' };
    const version = { time: '2024-01-03T13:00:00+01:00' };
    const { value } = await plugin.call('get', { source, version, directory: dir.ref });
    expect(value).toEqual({ version, metadata: [] });
    expect(await readdir(dir.path)).toEqual(['input']);
    expect(JSON.parse(await readFile(join(dir.path, 'input'), 'utf8'))).toEqual({ source, version });
  });

  it('needs a directory on this host', async () => {
    await expect(
      plugin.call('get', {
        source: {},
        version: { time: '2024-01-03T13:00:00Z' },
        directory: { handle: 'v', driver: 'pvc', location: { type: 'pvc', claimName: 'c', namespace: 'n' } },
      }),
    ).rejects.toMatchObject({ code: 'TIME_DIRECTORY_UNSUPPORTED' });
  });
});

describe('time resource put', () => {
  it('returns the current time in the location as the version', async () => {
    const dir = await directory();
    const before = Date.now();
    const { value } = await plugin.call('put', { source: { location: 'Asia/Tokyo' }, directory: dir.ref });
    expect(value.version.time).toMatch(/\+09:00$/);
    const put = instantOf(value.version);
    // Whole seconds may be all the precision there is: compare at that grain.
    expect(put).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
    expect(put).toBeLessThanOrEqual(Date.now());
  });
});
