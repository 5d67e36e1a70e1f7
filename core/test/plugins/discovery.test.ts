import { cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PluginHost } from '@conveyor/core/plugins';
import { afterEach, describe, expect, it } from 'vitest';

const fixtures = fileURLToPath(new URL('../../../test/fixtures/plugins/', import.meta.url));

describe('plugin discovery in the plugin store', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function store(): Promise<string> {
    // Outside the repository, as a real store is (/var/lib/conveyor/plugins): the fixtures import
    // @conveyor/plugin-api, which the host links into <store>/node_modules for them.
    const dir = await mkdtemp(join(tmpdir(), 'conveyor-store-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    return dir;
  }

  it('finds <store>/<name>/<version>/ packages side by side with built-in ones, and picks new ones up on rescan', async () => {
    const dir = await store();
    await mkdir(join(dir, 'echo'), { recursive: true });
    await cp(join(fixtures, 'echo-v1'), join(dir, 'echo', '1.0.0'), { recursive: true });
    const host = await PluginHost.create({ builtinDirs: [join(fixtures, 'streamer')], installedDir: dir });
    cleanups.push(() => host.close());
    expect(host.list().map((p) => `${p.name}@${p.version}:${p.source}`)).toEqual([
      'streamer@1.0.0:builtin',
      'echo@1.0.0:installed',
    ]);
    expect(await host.client('credentials', 'echo').call('lookup', { team: 'main', path: 'a' })).toEqual({
      found: true,
      value: 'a',
    });

    // A second version installed while the host runs is found by a rescan, without a restart.
    await cp(join(fixtures, 'echo-v2'), join(dir, 'echo', '2.0.0'), { recursive: true });
    await host.rescan();
    expect(
      host
        .list()
        .filter((p) => p.name === 'echo')
        .map((p) => p.version),
    ).toEqual(['2.0.0', '1.0.0']);
    expect(await host.client('credentials', 'echo').call('lookup', { team: 'main', path: 'a' })).toEqual({
      found: true,
      value: 'v2:a',
    });
    // The older version stays callable side by side.
    expect(
      await host.client('credentials', 'echo@1.0.0').call('lookup', { team: 'main', path: 'a' }),
    ).toEqual({
      found: true,
      value: 'a',
    });
  });

  it('refuses a package that declares the same name@version twice, naming both directories', async () => {
    const dir = await store();
    await mkdir(join(dir, 'echo'), { recursive: true });
    await cp(join(fixtures, 'echo-v1'), join(dir, 'echo', '1.0.0'), { recursive: true });
    const host = await PluginHost.create({ builtinDirs: [join(fixtures, 'echo-v1')], installedDir: dir });
    cleanups.push(() => host.close());
    const duplicate = host.refused().find((e) => e.code === 'CC_E_PLUGIN_DUPLICATE');
    expect(duplicate?.message).toContain('echo@1.0.0 is declared twice');
    expect(duplicate?.message).toContain(join(dir, 'echo', '1.0.0'));
  });

  it('treats a missing store as empty', async () => {
    const host = await PluginHost.create({
      builtinDirs: [join(fixtures, 'echo-v2')],
      installedDir: join(tmpdir(), 'conveyor-no-such-store'),
    });
    cleanups.push(() => host.close());
    expect(host.list()).toHaveLength(1);
    expect(host.refused()).toEqual([]);
  });
});
