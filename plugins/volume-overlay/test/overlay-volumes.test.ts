import { spawnSync } from 'node:child_process';
import { lstat, mkdir, mkdtemp, open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { volume } from '@conveyor/plugin-api';
import { loadPluginForTest, type PluginUnderTest, tarOf } from '@conveyor/plugin-api/testing';
import { runCommand } from '@conveyor/plugin-api/volume-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mountsUnder, readMounts } from '../src/mounts.js';
import { kernelTakesMetacopy, overlayUnavailable } from './overlay-support.js';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const unavailable = overlayUnavailable();
if (unavailable) console.warn(`SKIPPING overlay volume driver tests: ${unavailable}`);

describe.skipIf(Boolean(unavailable))('overlay volumes', () => {
  let scratch: string;
  let root: string;
  let plugin: PluginUnderTest<'volume'>;
  let counter = 0;

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'overlay-volumes-test-'));
    root = join(scratch, 'volumes');
    plugin = await loadPluginForTest<'volume'>(packageDir, { root });
  });

  afterAll(async () => {
    // Whatever a failed test left mounted goes before the files do.
    for (const mount of mountsUnder(await readMounts(), scratch)) {
      await runCommand('umount', [mount.mountPoint]).catch(() => undefined);
    }
    await rm(scratch, { recursive: true, force: true });
  });

  async function create(
    parent?: string,
    handle = `vol-${++counter}`,
    using: PluginUnderTest<'volume'> = plugin,
  ): Promise<volume.VolumeInfo> {
    const { value } = await using.call('createVolume', {
      handle,
      strategy: parent ? { type: 'child', parent } : { type: 'empty' },
    });
    return value.volume;
  }

  const pathOf = (info: volume.VolumeInfo) =>
    info.volume.location.type === 'host-path' ? info.volume.location.path : '';

  async function mountsAt(path: string) {
    return (await readMounts()).filter((m) => m.mountPoint === path);
  }

  async function destroyAll(volumes: volume.VolumeInfo[]): Promise<void> {
    for (const info of [...volumes].reverse()) {
      expect((await plugin.call('destroyVolume', { handle: info.volume.handle })).value.destroyed).toBe(true);
    }
  }

  it('mounts a child of a child as one overlay with a lower layer per ancestor', async () => {
    const a = await create();
    await plugin.call(
      'streamIn',
      { handle: a.volume.handle },
      { input: [tarOf([{ path: 'from-a', body: 'a' }])] },
    );
    const b = await create(a.volume.handle);
    await writeFile(join(pathOf(b), 'from-b'), 'b');
    const c = await create(b.volume.handle);
    await writeFile(join(pathOf(c), 'from-c'), 'c');
    const d = await create(c.volume.handle);

    // An empty volume is a plain directory, not a mount.
    expect(await mountsAt(pathOf(a))).toEqual([]);
    const [mount, ...others] = await mountsAt(pathOf(d));
    expect(others).toEqual([]);
    expect(mount?.fsType).toBe('overlay');
    const lowerdir = /(?:^|,)lowerdir=([^,]*)/.exec(mount?.superOptions ?? '')?.[1];
    expect(lowerdir?.split(':')).toEqual([
      `${c.volume.handle}/upper`,
      `${b.volume.handle}/upper`,
      `${a.volume.handle}/data`,
    ]);
    // No layer is itself an overlay: never an overlay of an overlay.
    const overlayMounts = new Set(
      (await readMounts()).filter((m) => m.fsType === 'overlay').map((m) => m.mountPoint),
    );
    for (const layer of lowerdir?.split(':') ?? []) expect(overlayMounts.has(join(root, layer))).toBe(false);
    expect((await readdir(pathOf(d))).sort()).toEqual(['from-a', 'from-b', 'from-c']);
    await destroyAll([a, b, c, d]);
  });

  it('mounts children with metacopy=on where the kernel takes it, so a shift copies up no data', async () => {
    const metacopy = await kernelTakesMetacopy(scratch);
    const big = Buffer.alloc(4 << 20, 1);
    const parent = await create();
    await writeFile(join(pathOf(parent), 'big.bin'), big);
    const child = await create(parent.volume.handle);
    const hasMetacopy = async (info: volume.VolumeInfo) =>
      (await mountsAt(pathOf(info)))[0]?.superOptions.split(',').includes('metacopy=on');
    expect(await hasMetacopy(child)).toBe(metacopy);

    const idMapping = { hostUid: 100_000_000, hostGid: 100_000_000, size: 65_536 };
    expect(
      (await plugin.call('shiftOwnership', { handle: child.volume.handle, idMapping })).value.entries,
    ).toBe(2);
    expect((await lstat(join(pathOf(child), 'big.bin'))).uid).toBe(100_000_000);
    expect((await readFile(join(pathOf(child), 'big.bin'))).equals(big)).toBe(true);
    // The copy in the child's own layer: its metadata only, or the whole file.
    const copied = await lstat(join(root, child.volume.handle, 'upper', 'big.bin'));
    expect(copied.uid).toBe(100_000_000);
    if (metacopy) expect(copied.blocks * 512).toBeLessThan(big.length);
    else expect(copied.blocks * 512).toBeGreaterThanOrEqual(big.length);
    expect((await lstat(join(pathOf(parent), 'big.bin'))).uid).toBe(0);

    // Mounted again as it was made, and so are its children, even by a driver told not to use
    // metacopy: only such a mount reads a layer of metadata-only copies.
    await runCommand('umount', [pathOf(child)]);
    await plugin.call('streamOut', { handle: child.volume.handle, path: 'big.bin' });
    expect(await hasMetacopy(child)).toBe(metacopy);
    const without = await loadPluginForTest<'volume'>(packageDir, { root, metacopy: false });
    const grandchild = await create(child.volume.handle, undefined, without);
    expect(await hasMetacopy(grandchild)).toBe(metacopy);
    expect((await readFile(join(pathOf(grandchild), 'big.bin'))).equals(big)).toBe(true);
    const plain = await create(parent.volume.handle, undefined, without);
    expect(await hasMetacopy(plain)).toBe(false);
    await destroyAll([parent, child, grandchild, plain]);
  });

  it("makes a child's root owned and moded as its parent's", async () => {
    const idMapping = { hostUid: 100_000_000, hostGid: 200_000_000, size: 65_536 };
    const { value } = await plugin.call('createVolume', {
      handle: `vol-${++counter}`,
      strategy: { type: 'empty' },
      idMapping,
    });
    const parent = value.volume;
    await runCommand('chmod', ['0750', pathOf(parent)]);
    const child = await create(parent.volume.handle);
    const grandchild = await create(child.volume.handle);
    for (const info of [child, grandchild]) {
      const stats = await lstat(pathOf(info));
      expect([stats.uid, stats.gid, stats.mode & 0o7777]).toEqual([100_000_000, 200_000_000, 0o750]);
    }
    await destroyAll([parent, child, grandchild]);
  });

  it('mounts a child again when its mount is gone, on the next call or at start', async () => {
    const parent = await create();
    await writeFile(join(pathOf(parent), 'file.txt'), 'parent');
    const child = await create(parent.volume.handle);
    await writeFile(join(pathOf(child), 'child.txt'), 'child');

    // As after a reboot or someone's umount: the directory is there, empty.
    await runCommand('umount', [pathOf(child)]);
    expect(await readdir(pathOf(child))).toEqual([]);
    const out = await plugin.call('streamOut', { handle: child.volume.handle, path: 'child.txt' });
    expect(out.bytes.length).toBeGreaterThan(0);
    expect(await readFile(join(pathOf(child), 'file.txt'), 'utf8')).toBe('parent');
    expect(await mountsAt(pathOf(child))).toHaveLength(1);

    // A restarted plugin mounts what is missing before its first call.
    await runCommand('umount', [pathOf(child)]);
    await loadPluginForTest<'volume'>(packageDir, { root });
    expect(await mountsAt(pathOf(child))).toHaveLength(1);
    expect(await readFile(join(pathOf(child), 'child.txt'), 'utf8')).toBe('child');

    // listVolumes hands out locations that work.
    await runCommand('umount', [pathOf(child)]);
    await plugin.call('listVolumes', {});
    expect(await readFile(join(pathOf(child), 'child.txt'), 'utf8')).toBe('child');
    await destroyAll([parent, child]);
  });

  it('mounts once when several plugin instances remount at the same time', async () => {
    const parent = await create();
    const child = await create(parent.volume.handle);
    await runCommand('umount', [pathOf(child)]);
    // The host's workers are so many instances over one root; their setup and their calls race.
    const instances = await Promise.all(
      [1, 2, 3].map(() => loadPluginForTest<'volume'>(packageDir, { root })),
    );
    expect(await mountsAt(pathOf(child))).toHaveLength(1);
    await runCommand('umount', [pathOf(child)]);
    await Promise.all(instances.map((p) => p.call('streamOut', { handle: child.volume.handle })));
    expect(await mountsAt(pathOf(child))).toHaveLength(1);
    await destroyAll([parent, child]);
  });

  it('leaves no mount behind when volumes are destroyed', async () => {
    const chain = [await create()];
    for (let i = 0; i < 3; i++) chain.push(await create(chain.at(-1)?.volume.handle));
    expect(mountsUnder(await readMounts(), root).length).toBeGreaterThanOrEqual(3);
    await destroyAll(chain);
    expect(mountsUnder(await readMounts(), root)).toEqual([]);
    for (const info of chain) expect((await readdir(root)).includes(info.volume.handle)).toBe(false);
  });

  it('refuses to destroy a volume a process still uses, and keeps it whole', async () => {
    const parent = await create();
    const child = await create(parent.volume.handle);
    await writeFile(join(pathOf(child), 'open.txt'), 'in use');
    const file = await open(join(pathOf(child), 'open.txt'), 'r');
    try {
      await expect(plugin.call('destroyVolume', { handle: child.volume.handle })).rejects.toMatchObject({
        code: 'OVERLAY_UNMOUNT_FAILED',
      });
      expect(await readFile(join(pathOf(child), 'open.txt'), 'utf8')).toBe('in use');
    } finally {
      await file.close();
    }
    await destroyAll([parent, child]);
    expect(mountsUnder(await readMounts(), root)).toEqual([]);
  });

  it('unmounts and removes what a crashed process left half destroyed', async () => {
    const parent = await create();
    const child = await create(parent.volume.handle);
    const deadPid = spawnSync('true').pid;
    // As a destroy that died between its rename and its unmount leaves it.
    const leftover = join(root, `.destroying-${deadPid}-${child.volume.handle}-0000`);
    await runCommand('mv', [join(root, child.volume.handle), leftover]);
    expect(mountsUnder(await readMounts(), leftover)).toHaveLength(1);
    await plugin.call('listVolumes', {});
    expect(mountsUnder(await readMounts(), leftover)).toEqual([]);
    expect((await readdir(root)).some((name) => name.startsWith('.destroying'))).toBe(false);
    await destroyAll([parent]);
  });

  it('destroys a parent whose child a crash left half made', async () => {
    const parent = await create();
    // A child's creation records it in its parent first; a crash may stop it right there.
    await mkdir(join(root, parent.volume.handle, 'children'), { recursive: true });
    await writeFile(join(root, parent.volume.handle, 'children', 'never-made'), '');
    await destroyAll([parent]);
  });

  it('refuses a child with more layers than one mount takes, before making anything', async () => {
    const long = (i: number) => `${String(i).padStart(4, '0')}-${'x'.repeat(110)}`;
    const chain = [await create(undefined, long(0))];
    await writeFile(join(pathOf(chain[0]!), 'bottom.txt'), 'bottom');
    let refusal: unknown;
    for (let i = 1; i < 100 && !refusal; i++) {
      try {
        chain.push(await create(chain.at(-1)?.volume.handle, long(i)));
      } catch (error) {
        refusal = error;
      }
    }
    expect(refusal).toMatchObject({ code: 'OVERLAY_TOO_MANY_LAYERS' });
    expect(chain.length).toBeGreaterThan(20);
    // The deepest child that was made works, and the refused one left nothing.
    expect(await readFile(join(pathOf(chain.at(-1)!), 'bottom.txt'), 'utf8')).toBe('bottom');
    expect((await readdir(root)).filter((name) => name.startsWith(long(chain.length).slice(0, 5)))).toEqual(
      [],
    );
    await destroyAll(chain);
    expect(mountsUnder(await readMounts(), root)).toEqual([]);
  });

  it('explains a mount the kernel refuses', async () => {
    const parent = await create();
    const child = await create(parent.volume.handle);
    await runCommand('umount', [pathOf(child)]);
    // A lower layer gone from under a child: it cannot be mounted again, and says why.
    await rm(join(root, parent.volume.handle, 'data'), { recursive: true });
    const failure = plugin.call('streamOut', { handle: child.volume.handle });
    await expect(failure).rejects.toMatchObject({ code: 'OVERLAY_MOUNT_FAILED' });
    await expect(failure).rejects.toThrow(`${parent.volume.handle}/data`);
    // Still listed, so GC can destroy it.
    const listed = await plugin.call('listVolumes', {});
    expect(listed.value.volumes.map((v) => v.volume.handle)).toContain(child.volume.handle);
    await destroyAll([parent, child]);
  });
});
