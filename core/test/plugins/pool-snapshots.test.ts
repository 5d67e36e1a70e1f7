import { spawnSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PluginHost } from '@conveyor/core/plugins';
import { afterEach, describe, expect, it } from 'vitest';

const fixtures = fileURLToPath(new URL('../../../test/fixtures/plugins/', import.meta.url));

describe('an installed plugin removed from the store while its host runs it', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function storeWithEcho(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'conveyor-store-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    await mkdir(join(dir, 'echo'));
    await cp(join(fixtures, 'echo-v1'), join(dir, 'echo', '1.0.0'), { recursive: true });
    return dir;
  }

  it('stays callable through a client made before, though no worker had started yet', async () => {
    const store = await storeWithEcho();
    const host = await PluginHost.create({ builtinDirs: [], installedDir: store, idleTimeoutMs: 50 });
    cleanups.push(() => host.close());
    // What a build does at its start: it takes its clients, and calls them later.
    const echo = host.client('credentials', 'echo');
    await rm(join(store, 'echo'), { recursive: true });
    await host.rescan();
    expect(host.list()).toEqual([]);
    expect(await echo.call('lookup', { team: 'main', path: 'a' })).toEqual({ found: true, value: 'a' });
    // Again after its idle worker has ended: a new one loads the plugin again.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await echo.call('lookup', { team: 'main', path: 'b' })).toEqual({ found: true, value: 'b' });
  });

  it('runs a plugin from the store itself where no snapshot can be made there', async () => {
    const store = await storeWithEcho();
    // Something that is not a directory where the snapshots would go, as a read-only store would refuse.
    await writeFile(join(store, '.in-use'), 'not a directory');
    const host = await PluginHost.create({ builtinDirs: [], installedDir: store });
    cleanups.push(() => host.close());
    expect(await host.client('credentials', 'echo').call('lookup', { team: 'main', path: 'a' })).toEqual({
      found: true,
      value: 'a',
    });
  });

  it('leaves nothing of its own in the store once closed, and sweeps what a dead host left', async () => {
    const store = await storeWithEcho();
    // A host that died without closing: a process that has exited left its snapshot behind.
    const dead = spawnSync('true').pid;
    await mkdir(join(store, '.in-use', `${dead}-0000`, 'echo', '1.0.0'), { recursive: true });

    const host = await PluginHost.create({ builtinDirs: [], installedDir: store });
    expect(await readdir(join(store, '.in-use'))).toEqual([]);
    await host.client('credentials', 'echo').call('lookup', { team: 'main', path: 'a' });
    const [own] = await readdir(join(store, '.in-use'));
    expect(own).toMatch(new RegExp(`^${process.pid}-`));
    // Discovery never takes a snapshot for a plugin.
    await host.rescan();
    expect(host.list().map((p) => `${p.name}@${p.version}`)).toEqual(['echo@1.0.0']);
    await host.close();
    // The store as the CLI left it.
    expect((await readdir(store)).sort()).toEqual(['echo', 'node_modules']);
  });
});
