import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { volume } from '@conveyor/plugin-api';
import { loadPluginForTest, type PluginUnderTest } from '@conveyor/plugin-api/testing';
import { filesystemType, runCommand } from '@conveyor/plugin-api/volume-kit';
import { type BtrfsLoop, skipUnlessBtrfs, startBtrfsLoop } from '@conveyor/test/harness/btrfs.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const skip = skipUnlessBtrfs('the btrfs volume driver tests');

describe.skipIf(Boolean(skip))('btrfs volumes', () => {
  let loop: BtrfsLoop;
  let root: string;
  let plugin: PluginUnderTest<'volume'>;
  let counter = 0;

  beforeAll(async () => {
    loop = await startBtrfsLoop();
    root = join(loop.path, 'volumes');
    plugin = await loadPluginForTest<'volume'>(packageDir, { root });
  });

  afterAll(async () => {
    await loop?.stop();
  });

  async function create(parent?: string): Promise<volume.VolumeInfo> {
    const { value } = await plugin.call('createVolume', {
      handle: `vol-${++counter}`,
      strategy: parent ? { type: 'child', parent } : { type: 'empty' },
    });
    return value.volume;
  }

  const pathOf = (info: volume.VolumeInfo) =>
    info.volume.location.type === 'host-path' ? info.volume.location.path : '';

  /** `btrfs subvolume show`, as name → value. */
  async function show(path: string): Promise<Record<string, string>> {
    const text = await runCommand('btrfs', ['subvolume', 'show', path]);
    return Object.fromEntries(
      text
        .split('\n')
        .map((line) => /^\s*([^:]+):\s*(.*)$/.exec(line))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => [m[1]!.trim(), m[2]!.trim()]),
    );
  }

  async function subvolumePaths(): Promise<string[]> {
    const text = await runCommand('btrfs', ['subvolume', 'list', '-o', loop.path]);
    return text
      .split('\n')
      .filter(Boolean)
      .map((line) => line.slice(line.indexOf(' path ') + 6));
  }

  it('makes a child as a snapshot subvolume of its parent', async () => {
    const parent = await create();
    await writeFile(join(pathOf(parent), 'file.txt'), 'parent');
    const child = await create(parent.volume.handle);
    const grandchild = await create(child.volume.handle);
    const [p, c, g] = await Promise.all([parent, child, grandchild].map((v) => show(pathOf(v))));
    expect(p?.['Parent UUID']).toBe('-');
    expect(c?.['Parent UUID']).toBe(p?.UUID);
    expect(g?.['Parent UUID']).toBe(c?.UUID);
    expect(c?.UUID).not.toBe(p?.UUID);
  });

  it('deletes the subvolume on destroy, parent first or child first', async () => {
    const parent = await create();
    await writeFile(join(pathOf(parent), 'file.txt'), 'parent');
    const child = await create(parent.volume.handle);
    const before = await subvolumePaths();
    expect(before).toEqual(
      expect.arrayContaining([`volumes/${parent.volume.handle}/data`, `volumes/${child.volume.handle}/data`]),
    );
    await plugin.call('destroyVolume', { handle: parent.volume.handle });
    const after = await subvolumePaths();
    expect(after).not.toContain(`volumes/${parent.volume.handle}/data`);
    expect(after).toContain(`volumes/${child.volume.handle}/data`);
    await plugin.call('destroyVolume', { handle: child.volume.handle });
    expect((await subvolumePaths()).filter((path) => path.includes(child.volume.handle))).toEqual([]);
  });

  it('destroys a volume in which a step made subvolumes of its own', async () => {
    const info = await create();
    await runCommand('btrfs', ['subvolume', 'create', join(pathOf(info), 'nested')]);
    await writeFile(join(pathOf(info), 'nested', 'file.txt'), 'nested');
    expect((await plugin.call('destroyVolume', { handle: info.volume.handle })).value.destroyed).toBe(true);
    expect((await subvolumePaths()).filter((path) => path.includes(info.volume.handle))).toEqual([]);
  });

  it('sweeps a subvolume that a crashed process left half made', async () => {
    const deadPid = spawnSync('true').pid;
    const leftover = join(root, `.creating-${deadPid}-crashed-0000`);
    await mkdir(leftover, { recursive: true });
    await runCommand('btrfs', ['subvolume', 'create', join(leftover, 'data')]);
    await plugin.call('listVolumes', {});
    expect((await subvolumePaths()).filter((path) => path.includes('crashed'))).toEqual([]);
  });

  it('refuses a root that is not on btrfs, naming it and its filesystem', async () => {
    const elsewhere = await mkdtemp(join(tmpdir(), 'not-btrfs-'));
    try {
      const notBtrfs = await loadPluginForTest<'volume'>(packageDir, { root: join(elsewhere, 'volumes') });
      const fs = await filesystemType(elsewhere);
      expect(fs.name).not.toBe('btrfs');
      const refusal = notBtrfs.call('createVolume', { handle: 'x', strategy: { type: 'empty' } });
      await expect(refusal).rejects.toMatchObject({ code: 'BTRFS_NOT_BTRFS' });
      await expect(refusal).rejects.toThrow(`${join(elsewhere, 'volumes')} is on ${fs.name}, not btrfs`);
    } finally {
      await rm(elsewhere, { recursive: true, force: true });
    }
  });
});
