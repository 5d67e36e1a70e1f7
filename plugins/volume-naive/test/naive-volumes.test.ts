import { spawnSync } from 'node:child_process';
import {
  chmod,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rm,
  stat,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { volume } from '@conveyor/plugin-api';
import { chunked, loadPluginForTest, type PluginUnderTest, tarOf } from '@conveyor/plugin-api/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
let scratch: string;
let root: string;
let plugin: PluginUnderTest<'volume'>;
let counter = 0;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'naive-volumes-test-'));
  root = join(scratch, 'volumes');
  plugin = await loadPluginForTest<'volume'>(packageDir, { root });
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

const nextHandle = () => `vol-${++counter}`;

async function createEmpty(labels: Record<string, string> = {}): Promise<volume.VolumeInfo> {
  const { value } = await plugin.call('createVolume', {
    handle: nextHandle(),
    strategy: { type: 'empty' },
    labels,
  });
  return value.volume;
}

function pathOf(info: volume.VolumeInfo): string {
  if (info.volume.location.type !== 'host-path') throw new Error('expected a host-path volume');
  return info.volume.location.path;
}

describe('naive volumes', () => {
  it('says it copies', async () => {
    const { value } = await plugin.call('info', {});
    expect(value).toEqual({ capabilities: { copyOnWrite: false } });
  });

  it('creates an empty volume at a host path and lists it by labels', async () => {
    const info = await createEmpty({ build: '42', step: 'unit' });
    expect(info.volume.driver).toBe('naive');
    expect(await readdir(pathOf(info))).toEqual([]);
    const all = await plugin.call('listVolumes', {});
    expect(all.value.volumes.map((v) => v.volume.handle)).toContain(info.volume.handle);
    const byBuild = await plugin.call('listVolumes', { labels: { build: '42' } });
    expect(byBuild.value.volumes).toEqual([info]);
    const none = await plugin.call('listVolumes', { labels: { build: '42', step: 'other' } });
    expect(none.value.volumes).toEqual([]);
  });

  it('makes a child that is a faithful copy and independent of its parent', async () => {
    const parent = await createEmpty();
    const dir = pathOf(parent);
    await mkdir(join(dir, 'sub'));
    await writeFile(join(dir, 'sub', 'file.txt'), 'original');
    await writeFile(join(dir, 'run.sh'), '#!/bin/sh\n');
    await chmod(join(dir, 'run.sh'), 0o750);
    await symlink('sub/file.txt', join(dir, 'relative-link'));
    await symlink('/nonexistent/absolute', join(dir, 'absolute-link'));
    const past = new Date('2001-02-03T04:05:06Z');
    await utimes(join(dir, 'sub', 'file.txt'), past, past);
    await utimes(join(dir, 'sub'), past, past);

    const { value } = await plugin.call('createVolume', {
      handle: nextHandle(),
      strategy: { type: 'child', parent: parent.volume.handle },
    });
    expect(value.volume.parent).toBe(parent.volume.handle);
    const copy = pathOf(value.volume);
    expect(await readFile(join(copy, 'sub', 'file.txt'), 'utf8')).toBe('original');
    expect((await stat(join(copy, 'run.sh'))).mode & 0o7777).toBe(0o750);
    expect(await readlink(join(copy, 'relative-link'))).toBe('sub/file.txt');
    expect(await readlink(join(copy, 'absolute-link'))).toBe('/nonexistent/absolute');
    expect((await stat(join(copy, 'sub', 'file.txt'))).mtime).toEqual(past);
    expect((await stat(join(copy, 'sub'))).mtime).toEqual(past);

    await writeFile(join(copy, 'sub', 'file.txt'), 'changed in the child');
    await writeFile(join(copy, 'new.txt'), 'only in the child');
    expect(await readFile(join(dir, 'sub', 'file.txt'), 'utf8')).toBe('original');
    await expect(stat(join(dir, 'new.txt'))).rejects.toMatchObject({ code: 'ENOENT' });
    await writeFile(join(dir, 'later.txt'), 'only in the parent');
    await expect(stat(join(copy, 'later.txt'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('refuses a child of a volume that does not exist, and a handle that is taken', async () => {
    await expect(
      plugin.call('createVolume', { handle: nextHandle(), strategy: { type: 'child', parent: 'missing' } }),
    ).rejects.toMatchObject({ code: 'NAIVE_PARENT_NOT_FOUND' });
    const existing = await createEmpty();
    await expect(
      plugin.call('createVolume', { handle: existing.volume.handle, strategy: { type: 'empty' } }),
    ).rejects.toMatchObject({ code: 'NAIVE_VOLUME_EXISTS' });
  });

  it('destroys a volume once', async () => {
    const info = await createEmpty({ doomed: 'yes' });
    await writeFile(join(pathOf(info), 'file'), 'x');
    expect((await plugin.call('destroyVolume', { handle: info.volume.handle })).value).toEqual({
      destroyed: true,
    });
    await expect(stat(join(root, info.volume.handle))).rejects.toMatchObject({ code: 'ENOENT' });
    expect((await plugin.call('listVolumes', { labels: { doomed: 'yes' } })).value.volumes).toEqual([]);
    expect((await plugin.call('destroyVolume', { handle: info.volume.handle })).value).toEqual({
      destroyed: false,
    });
  });

  it('never lists a half-made volume, and sweeps what a dead process left', async () => {
    const deadPid = spawnSync('true').pid;
    const leftover = join(root, `.creating-${deadPid}-crashed-0000`);
    await mkdir(join(leftover, 'data'), { recursive: true });
    await mkdir(join(root, 'no-record', 'data'), { recursive: true });
    const handles = (await plugin.call('listVolumes', {})).value.volumes.map((v) => v.volume.handle);
    expect(handles).not.toContain('no-record');
    expect(handles.some((h) => h.includes('crashed'))).toBe(false);
    await expect(stat(leftover)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('streams a volume out as tar and back in, byte for byte', async () => {
    const source = await createEmpty();
    const dir = pathOf(source);
    await mkdir(join(dir, 'nested', 'deeper'), { recursive: true });
    await writeFile(join(dir, 'nested', 'deeper', 'data.bin'), Buffer.alloc(300_000, 7));
    await writeFile(join(dir, 'script.sh'), 'echo hi\n');
    await chmod(join(dir, 'script.sh'), 0o755);
    await symlink('nested/deeper/data.bin', join(dir, 'link'));

    const out = await plugin.call('streamOut', { handle: source.volume.handle });
    expect(out.ended).toBe(true);
    expect(out.value.bytes).toBe(out.bytes.length);

    const target = await createEmpty();
    const into = await plugin.call(
      'streamIn',
      { handle: target.volume.handle, path: 'restored' },
      { input: chunked(out.bytes, 64 * 1024) },
    );
    expect(into.value.bytes).toBe(out.bytes.length);
    const restored = join(pathOf(target), 'restored');
    expect(await readFile(join(restored, 'nested', 'deeper', 'data.bin'))).toEqual(Buffer.alloc(300_000, 7));
    expect((await stat(join(restored, 'script.sh'))).mode & 0o777).toBe(0o755);
    expect(await readlink(join(restored, 'link'))).toBe('nested/deeper/data.bin');
  });

  it('streams out a single file under its own name', async () => {
    const source = await createEmpty();
    await mkdir(join(pathOf(source), 'dir'));
    await writeFile(join(pathOf(source), 'dir', 'one.txt'), 'one');
    const out = await plugin.call('streamOut', { handle: source.volume.handle, path: 'dir/one.txt' });
    const target = await createEmpty();
    await plugin.call('streamIn', { handle: target.volume.handle }, { input: [out.bytes] });
    expect(await readdir(pathOf(target))).toEqual(['one.txt']);
  });

  it('keeps absolute symbolic links verbatim and never writes through them', async () => {
    const target = await createEmpty();
    const outside = join(scratch, 'outside-abs');
    await mkdir(outside);
    await plugin.call(
      'streamIn',
      { handle: target.volume.handle },
      { input: [tarOf([{ path: 'bin/sh', type: 'SymbolicLink', linkpath: '/bin/busybox' }])] },
    );
    expect(await readlink(join(pathOf(target), 'bin', 'sh'))).toBe('/bin/busybox');

    const through = tarOf([
      { path: 'escape', type: 'SymbolicLink', linkpath: outside },
      { path: 'escape/evil.txt', body: 'pwned' },
    ]);
    await expect(
      plugin.call('streamIn', { handle: target.volume.handle }, { input: [through] }),
    ).rejects.toMatchObject({ code: 'NAIVE_TAR_UNSAFE_ENTRY' });
    expect(await readdir(outside)).toEqual([]);
  });

  describe('refuses tar entries that escape the volume', () => {
    const cases: Array<[string, (outside: string) => Buffer]> = [
      ['an absolute path', (outside) => tarOf([{ path: join(outside, 'evil.txt'), body: 'pwned' }])],
      ['a path with ..', () => tarOf([{ path: '../../evil.txt', body: 'pwned' }])],
      [
        'a hard link to a file outside',
        (outside) => tarOf([{ path: 'hard', type: 'Link', linkpath: join(outside, 'secret') }]),
      ],
      [
        'a hard link that climbs out',
        () => tarOf([{ path: 'hard', type: 'Link', linkpath: '../../secret' }]),
      ],
      [
        'a relative symbolic link that climbs out',
        () => tarOf([{ path: 'dir/link', type: 'SymbolicLink', linkpath: '../../../outside' }]),
      ],
    ];
    for (const [name, archive] of cases) {
      it(name, async () => {
        const outside = await mkdtemp(join(scratch, 'outside-'));
        await writeFile(join(outside, 'secret'), 'secret');
        const target = await createEmpty();
        await expect(
          plugin.call('streamIn', { handle: target.volume.handle }, { input: [archive(outside)] }),
        ).rejects.toMatchObject({ code: 'NAIVE_TAR_UNSAFE_ENTRY' });
        expect((await readdir(outside)).sort()).toEqual(['secret']);
        await expect(stat(join(scratch, 'evil.txt'))).rejects.toMatchObject({ code: 'ENOENT' });
        await expect(lstat(join(pathOf(target), 'hard'))).rejects.toMatchObject({ code: 'ENOENT' });
        await expect(lstat(join(pathOf(target), 'dir', 'link'))).rejects.toMatchObject({ code: 'ENOENT' });
      });
    }
  });

  it('takes an empty stream as nothing to extract, and refuses one that is not tar', async () => {
    const info = await createEmpty();
    expect((await plugin.call('streamIn', { handle: info.volume.handle }, { input: [] })).value).toEqual({
      bytes: 0,
    });
    await expect(
      plugin.call(
        'streamIn',
        { handle: info.volume.handle },
        { input: [Buffer.from('not a tar '.repeat(100))] },
      ),
    ).rejects.toMatchObject({ code: 'NAIVE_TAR_FAILED' });
  });

  it('refuses paths that leave the volume', async () => {
    const info = await createEmpty();
    await expect(
      plugin.call('streamIn', { handle: info.volume.handle, path: '../elsewhere' }, { input: [] }),
    ).rejects.toMatchObject({ code: 'NAIVE_PATH_ESCAPES' });
    await symlink(scratch, join(pathOf(info), 'way-out'));
    await expect(
      plugin.call('streamOut', { handle: info.volume.handle, path: 'way-out' }),
    ).rejects.toMatchObject({ code: 'NAIVE_PATH_ESCAPES' });
    await expect(plugin.call('streamOut', { handle: 'no-such-volume' })).rejects.toMatchObject({
      code: 'NAIVE_VOLUME_NOT_FOUND',
    });
  });
});
