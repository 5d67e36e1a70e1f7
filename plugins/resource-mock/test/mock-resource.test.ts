import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BuildMetadata, VolumeRef } from '@conveyor/plugin-api';
import { loadPluginForTest, type PluginUnderTest } from '@conveyor/plugin-api/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
let scratch: string;
let plugin: PluginUnderTest<'resource-type'>;
let counter = 0;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'mock-resource-test-'));
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

const stderr = (output: Array<{ stream: string; data: string }>) =>
  output
    .filter((o) => o.stream === 'stderr')
    .map((o) => o.data)
    .join('');

const build: BuildMetadata = {
  id: 42,
  name: '7',
  team: 'main',
  pipeline: 'app',
  job: 'unit',
  url: 'https://ci.example.com/teams/main/pipelines/app/jobs/unit/builds/7',
};

describe('mock resource check', () => {
  const versions = async (request: { source: Record<string, unknown>; version?: Record<string, string> }) =>
    (await plugin.call('check', request)).value.versions;

  it('emits the initial version, "mock" by default, unless told not to', async () => {
    expect(await versions({ source: {} })).toEqual([{ version: 'mock' }]);
    expect(await versions({ source: { initial_version: 'v0' } })).toEqual([{ version: 'v0' }]);
    expect(await versions({ source: { no_initial_version: true } })).toEqual([]);
  });

  it('echoes the given version, so check-resource --from makes new versions', async () => {
    expect(await versions({ source: {}, version: { version: 'foo' } })).toEqual([{ version: 'foo' }]);
    expect(await versions({ source: { no_initial_version: true }, version: { version: 'bar' } })).toEqual([
      { version: 'bar' },
    ]);
    expect(await versions({ source: {}, version: { version: 'p', privileged: 'true' } })).toEqual([
      { version: 'p', privileged: 'true' },
    ]);
  });

  it('emits only force_version when set', async () => {
    expect(await versions({ source: { force_version: 'forced' } })).toEqual([{ version: 'forced' }]);
    expect(await versions({ source: { force_version: 'forced' }, version: { version: 'other' } })).toEqual([
      { version: 'forced' },
    ]);
  });

  it('fails on purpose with check_failure', async () => {
    await expect(plugin.call('check', { source: { check_failure: 'boom' } })).rejects.toMatchObject({
      code: 'MOCK_CHECK_FAILED',
      message: expect.stringContaining('intentionally failing to check: boom'),
    });
  });

  it('takes check_delay as a Go duration', async () => {
    for (const delay of ['0', '1ms', '.5ms', '1us', '1µs', '300ns', '-5s', '1ms500us']) {
      expect(await versions({ source: { check_delay: delay } })).toEqual([{ version: 'mock' }]);
    }
    for (const delay of ['10', '5x', '1s2', 'ms', '1..5s']) {
      await expect(plugin.call('check', { source: { check_delay: delay } })).rejects.toMatchObject({
        code: 'MOCK_BAD_CHECK_DELAY',
      });
    }
  });

  it('prints source.log on every action', async () => {
    const { output } = await plugin.call('check', { source: { log: 'hello from mock' } });
    expect(stderr(output)).toBe('hello from mock\n');
  });

  it('refuses unknown source keys, as the Go mock does', async () => {
    await expect(plugin.call('check', { source: { initial_versoin: 'typo' } })).rejects.toMatchObject({
      code: 'CONFORMANCE_BAD_REQUEST',
    });
  });
});

describe('mock resource get', () => {
  it('writes ./version and ./privileged and returns the version and metadata', async () => {
    const dir = await directory();
    const metadata = [{ name: 'key', value: 'value' }];
    const { value, output } = await plugin.call('get', {
      source: { metadata, log: 'Debug message' },
      version: { version: '1' },
      directory: dir.ref,
    });
    expect(value).toEqual({ version: { version: '1' }, metadata });
    expect(await readFile(join(dir.path, 'version'), 'utf8')).toBe('1\n');
    expect(await readFile(join(dir.path, 'privileged'), 'utf8')).toBe('false\n');
    expect(stderr(output)).toBe('Debug message\nfetching version: 1\n');
    expect((await readdir(dir.path)).sort()).toEqual(['privileged', 'version']);
  });

  it('creates files from source and params, params winning, objects as JSON', async () => {
    const dir = await directory();
    const { value } = await plugin.call('get', {
      source: {
        create_files: { 'file1.yml': 'foo: bar\n', 'shared.txt': 'from source', 'data.json': { a: [1, 2] } },
      },
      params: { create_files_via_params: { 'shared.txt': 'from params', 'nested/deep/file.txt': 'deep' } },
      version: { version: 'v2' },
      directory: dir.ref,
    });
    expect(value.metadata).toEqual([]);
    expect(await readFile(join(dir.path, 'file1.yml'), 'utf8')).toBe('foo: bar\n');
    expect(await readFile(join(dir.path, 'shared.txt'), 'utf8')).toBe('from params');
    expect(JSON.parse(await readFile(join(dir.path, 'data.json'), 'utf8'))).toEqual({ a: [1, 2] });
    expect(await readFile(join(dir.path, 'nested', 'deep', 'file.txt'), 'utf8')).toBe('deep');
  });

  it('writes image metadata for mirror_self, from source or params', async () => {
    const cases: Array<[Record<string, unknown>, Record<string, unknown>]> = [
      [{ mirror_self: true }, {}],
      [{}, { mirror_self_via_params: true }],
    ];
    for (const [source, params] of cases) {
      const dir = await directory();
      await plugin.call('get', { source, params, version: { version: '3' }, directory: dir.ref });
      expect(JSON.parse(await readFile(join(dir.path, 'metadata.json'), 'utf8'))).toEqual({
        env: ['MIRRORED_VERSION=3'],
        user: 'root',
      });
    }
  });

  it('keeps created files inside the directory', async () => {
    const dir = await directory();
    await expect(
      plugin.call('get', {
        source: { create_files: { '../escaped.txt': 'no' } },
        version: { version: '1' },
        directory: dir.ref,
      }),
    ).rejects.toMatchObject({ code: 'MOCK_PATH_ESCAPES' });
    await expect(readFile(join(scratch, 'escaped.txt'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('needs a directory on this host', async () => {
    await expect(
      plugin.call('get', {
        source: {},
        version: { version: '1' },
        directory: { handle: 'v', driver: 'pvc', location: { type: 'pvc', claimName: 'c', namespace: 'n' } },
      }),
    ).rejects.toMatchObject({ code: 'MOCK_DIRECTORY_UNSUPPORTED' });
  });
});

describe('mock resource put', () => {
  it('creates the version in params and returns source metadata', async () => {
    const dir = await directory();
    const metadata = [{ name: 'key', value: 'value' }];
    const { value, output } = await plugin.call('put', {
      source: { metadata },
      params: { version: '2' },
      directory: dir.ref,
    });
    expect(value).toEqual({ version: { version: '2' }, metadata });
    expect(stderr(output)).toBe('pushing version: 2\n');
  });

  it('reads the version from a file relative to its directory, trimmed, over params.version', async () => {
    const dir = await directory();
    await mkdir(join(dir.path, 'cyberdeck'));
    await writeFile(join(dir.path, 'cyberdeck', 'version_to_put.txt'), 'made-via-params\n');
    const { value } = await plugin.call('put', {
      source: {},
      params: { file: 'cyberdeck/version_to_put.txt', version: 'ignored' },
      directory: dir.ref,
    });
    expect(value.version).toEqual({ version: 'made-via-params' });
  });

  it('needs a version', async () => {
    const dir = await directory();
    await expect(plugin.call('put', { source: {}, directory: dir.ref })).rejects.toMatchObject({
      code: 'MOCK_NO_VERSION',
    });
    await writeFile(join(dir.path, 'empty'), '\n');
    await expect(
      plugin.call('put', { source: {}, params: { file: 'empty' }, directory: dir.ref }),
    ).rejects.toMatchObject({ code: 'MOCK_NO_VERSION' });
    await expect(
      plugin.call('put', { source: {}, params: { file: 'missing' }, directory: dir.ref }),
    ).rejects.toMatchObject({ code: 'MOCK_FILE_UNREADABLE' });
  });

  it('reads no file outside its directory', async () => {
    const dir = await directory();
    await writeFile(join(scratch, 'secret'), 'secret');
    await symlink(join(scratch, 'secret'), join(dir.path, 'link'));
    for (const file of ['../secret', 'link']) {
      await expect(
        plugin.call('put', { source: {}, params: { file }, directory: dir.ref }),
      ).rejects.toMatchObject({ code: 'MOCK_PATH_ESCAPES' });
    }
  });

  it('prints the build environment with print_env, never the process environment', async () => {
    const dir = await directory();
    process.env.CCTEST_MOCK_SECRET = 'do-not-print';
    try {
      const { output } = await plugin.call('put', {
        source: {},
        params: { version: '5', print_env: true },
        directory: dir.ref,
        build,
      });
      expect(stderr(output).split('\n')).toEqual([
        'pushing version: 5',
        'env: ATC_EXTERNAL_URL=https://ci.example.com',
        'env: BUILD_ID=42',
        'env: BUILD_JOB_NAME=unit',
        'env: BUILD_NAME=7',
        'env: BUILD_PIPELINE_NAME=app',
        'env: BUILD_TEAM_NAME=main',
        '',
      ]);
    } finally {
      delete process.env.CCTEST_MOCK_SECRET;
    }
  });

  it('refuses unknown params, as the Go mock does', async () => {
    const dir = await directory();
    await expect(
      plugin.call('put', { source: {}, params: { verison: '1' }, directory: dir.ref }),
    ).rejects.toMatchObject({ code: 'CONFORMANCE_BAD_REQUEST' });
  });
});
