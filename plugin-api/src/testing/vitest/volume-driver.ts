import { lstat, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IdMapping, Labels } from '../../generated/common.generated.js';
import type { VolumeInfo } from '../../generated/volume.generated.js';
import { loadPluginForTest, type PluginUnderTest } from '../load-plugin.js';
import { chunked, type ReadTarEntry, readTar, type TarEntry, tarOf } from '../tar.js';

/** What a driver promises beyond the contract; the suite checks each promise it makes. */
export interface VolumeDriverGuarantees {
  /** `info` reports `copyOnWrite`: a child costs the same whatever its parent's size. */
  copyOnWrite: boolean;
  /**
   * What is written to a parent after a child was made never shows in the child. A driver whose
   * children read through to their parent (overlay) cannot promise it: the core only makes
   * children of volumes that are no longer written.
   */
  childIsolatedFromLaterParentWrites: boolean;
  /**
   * A parent may be destroyed before its children, which keep their content (btrfs snapshots,
   * naive copies). Without it, destroying a volume that has children fails with
   * `<prefix>_VOLUME_HAS_CHILDREN` and changes nothing; the core destroys children first.
   */
  parentDestroyableBeforeChildren: boolean;
}

export interface VolumeDriverConformanceOptions {
  /** The suite's name, e.g. `overlay volume driver`. */
  name: string;
  /** The plugin package's directory, which holds conveyor-plugin.json. */
  packageDir: string;
  /**
   * Make the configuration the suite loads the plugin with, e.g. a fresh `root`; `cleanup` runs
   * after the suite has destroyed every volume it made.
   */
  setup: () => Promise<{ config: Record<string, unknown>; cleanup?: () => Promise<void> }>;
  /** The driver's error code prefix: `NAIVE` for `NAIVE_VOLUME_NOT_FOUND`. */
  codePrefix: string;
  guarantees: VolumeDriverGuarantees;
  /** Skip the whole suite, for this reason (a missing kernel feature or privilege). */
  skip?: string | undefined;
}

const PAST = new Date('2001-02-03T04:05:06Z');
const LATER = new Date('2011-12-13T14:15:16Z');
const BIG = Buffer.from(Array.from({ length: 300_000 }, (_, i) => i % 251));
const isRoot = process.getuid?.() === 0;

/** Host ids of a user namespace, uids and gids apart so that a swap shows. */
const MAPPING: IdMapping = { hostUid: 100_000_000, hostGid: 200_000_000, size: 65_536 };
/**
 * Owners as a step's get or an upload leaves them on the host: root's, a user's below the
 * mapping's size, one already shifted, and one above the size that no mapping covers.
 */
const UNSHIFTED: TarEntry[] = [
  { path: 'etc', type: 'Directory', mode: 0o755, uid: 0, gid: 0 },
  { path: 'etc/passwd', body: 'root:x:0:0::/root:/bin/sh\n', uid: 0, gid: 0 },
  { path: 'home', type: 'Directory', uid: 0, gid: 0 },
  { path: 'home/user', type: 'Directory', mode: 0o700, uid: 1000, gid: 1000 },
  { path: 'home/user/notes.txt', body: 'mine', uid: 1000, gid: 1000 },
  { path: 'home/user/shared.txt', body: 'group root', uid: 1000, gid: 0 },
  { path: 'home/user/again', type: 'Link', linkpath: 'home/user/notes.txt' },
  { path: 'home/user/link', type: 'SymbolicLink', linkpath: 'notes.txt', uid: 1000, gid: 1000 },
  { path: 'bin', type: 'Directory', uid: 0, gid: 0 },
  { path: 'bin/su', body: '#!/bin/sh\n', mode: 0o4755, uid: 0, gid: 0 },
  { path: 'bin/wall', body: '#!/bin/sh\n', mode: 0o2755, uid: 0, gid: 5 },
  {
    path: 'shifted.txt',
    body: 'already',
    uid: MAPPING.hostUid + 7,
    gid: MAPPING.hostGid + 7,
  },
  { path: 'foreign.txt', body: 'nobody maps it', uid: 70_000, gid: 70_001 },
];
/**
 * The volume's root (owned by root) and every entry of UNSHIFTED below the size: a file with two
 * names counts once, and the two entries already shifted or above the size do not count.
 */
const UNSHIFTED_CHANGES = 11;
/** Where each entry of UNSHIFTED is expected after a shift, by path: [uid, gid, mode]. */
const SHIFTED = new Map<string, [number, number, number]>([
  ['etc', [MAPPING.hostUid, MAPPING.hostGid, 0o755]],
  ['etc/passwd', [MAPPING.hostUid, MAPPING.hostGid, 0o644]],
  ['home', [MAPPING.hostUid, MAPPING.hostGid, 0o755]],
  ['home/user', [MAPPING.hostUid + 1000, MAPPING.hostGid + 1000, 0o700]],
  ['home/user/notes.txt', [MAPPING.hostUid + 1000, MAPPING.hostGid + 1000, 0o644]],
  ['home/user/shared.txt', [MAPPING.hostUid + 1000, MAPPING.hostGid, 0o644]],
  ['home/user/again', [MAPPING.hostUid + 1000, MAPPING.hostGid + 1000, 0o644]],
  ['home/user/link', [MAPPING.hostUid + 1000, MAPPING.hostGid + 1000, 0o777]],
  ['bin', [MAPPING.hostUid, MAPPING.hostGid, 0o755]],
  // chown clears setuid and setgid; a shift sets them again.
  ['bin/su', [MAPPING.hostUid, MAPPING.hostGid, 0o4755]],
  ['bin/wall', [MAPPING.hostUid, MAPPING.hostGid + 5, 0o2755]],
  ['shifted.txt', [MAPPING.hostUid + 7, MAPPING.hostGid + 7, 0o644]],
  ['foreign.txt', [70_000, 70_001, 0o644]],
]);

/** A tree with what a round trip must keep: modes, times, owners, links of every kind. */
const FIXTURE: TarEntry[] = [
  { path: 'a', type: 'Directory', mode: 0o750, mtime: PAST },
  { path: 'a/run.sh', body: '#!/bin/sh\necho hi\n', mode: 0o755, mtime: PAST },
  { path: 'a/data.bin', body: BIG, mode: 0o600, mtime: LATER },
  { path: 'a/hard', type: 'Link', linkpath: 'a/run.sh' },
  { path: 'a/deeper/empty', type: 'Directory', mode: 0o700, mtime: PAST },
  { path: 'shared', type: 'Directory', mode: 0o1777, mtime: LATER },
  { path: 'link', type: 'SymbolicLink', linkpath: 'a/run.sh', mtime: PAST },
  { path: 'absolute', type: 'SymbolicLink', linkpath: '/usr/bin/env', mtime: PAST },
  { path: 'dangling', type: 'SymbolicLink', linkpath: 'nowhere', mtime: PAST },
  { path: 'owned.txt', body: 'owned', uid: 1234, gid: 5678, mtime: PAST },
  { path: 'empty.txt', body: '', mode: 0o640, mtime: LATER },
];

interface Seen {
  type: string;
  mode: number;
  mtime: number | undefined;
  uid: number | undefined;
  gid: number | undefined;
  linkpath: string | undefined;
  /** A file's content; for a hard link, its target's. */
  body: string;
}

/**
 * Declares a vitest suite that proves a volume plugin keeps the volume contract: empty volumes,
 * tar round trips that keep modes, owners, times and links, children that see their parent and
 * never write to it, children of children, destroy, listing by labels, refusing tar entries that
 * escape the volume, state that survives a restart, and owners for user namespaces (an empty
 * volume given to an id mapping's root, shiftOwnership once and only once, never through a link). Everything goes through the plugin's
 * methods, so it holds for volumes that are not host paths; a few checks also write through the
 * host path when the driver gives one.
 *
 * ```ts
 * volumeDriverConformance({
 *   name: 'naive volume driver',
 *   packageDir: fileURLToPath(new URL('..', import.meta.url)),
 *   setup: async () => { const root = await mkdtemp(…); return { config: { root }, cleanup: () => rm(root, …) }; },
 *   codePrefix: 'NAIVE',
 *   guarantees: { copyOnWrite: false, childIsolatedFromLaterParentWrites: true, parentDestroyableBeforeChildren: true },
 * });
 * ```
 */
export function volumeDriverConformance(options: VolumeDriverConformanceOptions): void {
  const { codePrefix, guarantees } = options;
  const code = (failure: string) => `${codePrefix}_${failure}`;
  if (options.skip) console.warn(`SKIPPING the ${options.name} conformance suite: ${options.skip}`);

  describe.skipIf(Boolean(options.skip))(`${options.name} (volume driver conformance)`, () => {
    let plugin: PluginUnderTest<'volume'>;
    let config: Record<string, unknown>;
    let cleanup: (() => Promise<void>) | undefined;
    let scratch: string;
    const created: string[] = [];
    let counter = 0;

    beforeAll(async () => {
      scratch = await mkdtemp(join(tmpdir(), 'volume-conformance-'));
      ({ config, cleanup } = await options.setup());
      plugin = await loadPluginForTest<'volume'>(options.packageDir, config);
    });

    afterAll(async () => {
      // Newest first: a child before its parent, as the core's GC does.
      for (const handle of created.reverse()) {
        await plugin?.call('destroyVolume', { handle }).catch(() => undefined);
      }
      await cleanup?.();
      if (scratch) await rm(scratch, { recursive: true, force: true });
    });

    async function create(parent?: string, labels: Labels = {}, idMapping?: IdMapping): Promise<VolumeInfo> {
      const handle = `conformance-${process.pid}-${++counter}`;
      created.push(handle);
      const { value } = await plugin.call('createVolume', {
        handle,
        strategy: parent ? { type: 'child', parent } : { type: 'empty' },
        labels,
        ...(idMapping ? { idMapping } : {}),
      });
      return value.volume;
    }

    async function streamIn(handle: string, archive: Buffer, path?: string): Promise<number> {
      const request = path === undefined ? { handle } : { handle, path };
      const { value } = await plugin.call('streamIn', request, { input: chunked(archive, 7_777) });
      return value.bytes;
    }

    /** What the volume holds, by path, as streamOut reports it. */
    async function contents(handle: string): Promise<Map<string, Seen>> {
      const { value, bytes, ended } = await plugin.call('streamOut', { handle });
      expect(ended).toBe(true);
      expect(value.bytes).toBe(bytes.length);
      const entries = await readTar(bytes);
      const byPath = new Map(entries.map((e) => [e.path, e]));
      const seen = new Map<string, Seen>();
      for (const entry of entries) {
        if (entry.path === '.') continue;
        const linkpath = entry.linkpath?.replace(/^(?:\.\/)+/, '');
        const source = entry.type === 'Link' && linkpath ? byPath.get(linkpath) : entry;
        seen.set(entry.path, {
          type: entry.type === 'Link' ? 'File' : entry.type,
          mode: entry.mode,
          mtime: entry.mtime?.getTime(),
          uid: entry.uid,
          gid: entry.gid,
          linkpath: entry.type === 'SymbolicLink' ? linkpath : undefined,
          body: source?.body.toString('latin1') ?? '',
        });
      }
      return seen;
    }

    function hostPath(info: VolumeInfo): string | undefined {
      return info.volume.location.type === 'host-path' ? info.volume.location.path : undefined;
    }

    /** Checks that `seen` holds the fixture as written. */
    function expectFixture(seen: Map<string, Seen>): void {
      for (const entry of FIXTURE) {
        const got = seen.get(entry.path);
        expect(got, `${entry.path} is missing`).toBeDefined();
        if (!got) continue;
        const type = entry.type ?? 'File';
        if (type === 'Link') {
          expect(got.body).toBe(seen.get(entry.linkpath ?? '')?.body);
          continue;
        }
        expect(got.type, entry.path).toBe(type);
        if (type === 'SymbolicLink') {
          expect(got.linkpath, entry.path).toBe(entry.linkpath);
        } else {
          expect(got.mode, `mode of ${entry.path}`).toBe(
            entry.mode ?? (type === 'Directory' ? 0o755 : 0o644),
          );
        }
        expect(got.mtime, `mtime of ${entry.path}`).toBe(entry.mtime?.getTime());
        if (type === 'File')
          expect(got.body, entry.path).toBe(Buffer.from(entry.body ?? '').toString('latin1'));
        if (isRoot && entry.uid !== undefined) {
          expect([got.uid, got.gid], `owner of ${entry.path}`).toEqual([entry.uid, entry.gid]);
        }
      }
    }

    it(`says copyOnWrite: ${guarantees.copyOnWrite}`, async () => {
      const { value } = await plugin.call('info', {});
      expect(value.capabilities.copyOnWrite).toBe(guarantees.copyOnWrite);
    });

    it('creates an empty volume that holds nothing', async () => {
      const before = Date.now();
      const info = await create(undefined, { role: 'empty-check' });
      expect(info.volume.handle).toMatch(/^conformance-/);
      expect(info.parent).toBeUndefined();
      expect(info.labels).toEqual({ role: 'empty-check' });
      expect(Date.parse(info.createdAt ?? '')).toBeGreaterThanOrEqual(before - 1000);
      expect([...(await contents(info.volume.handle)).keys()]).toEqual([]);
      const path = hostPath(info);
      if (path) expect(await readdir(path)).toEqual([]);
    });

    it('streams a tree in and out keeping modes, owners, mtimes and links', async () => {
      const info = await create();
      const archive = tarOf(FIXTURE);
      expect(await streamIn(info.volume.handle, archive)).toBe(archive.length);
      expectFixture(await contents(info.volume.handle));

      // Out again and into a subdirectory of another volume: the same tree.
      const { bytes } = await plugin.call('streamOut', { handle: info.volume.handle });
      const copy = await create();
      await streamIn(copy.volume.handle, bytes, 'nested/here');
      const nested = await contents(copy.volume.handle);
      for (const [path, seen] of await contents(info.volume.handle)) {
        expect(nested.get(`nested/here/${path}`), path).toEqual(seen);
      }
    });

    it('streams out a single file under its own name', async () => {
      const info = await create();
      await streamIn(info.volume.handle, tarOf(FIXTURE));
      const { bytes } = await plugin.call('streamOut', { handle: info.volume.handle, path: 'a/run.sh' });
      const entries = await readTar(bytes);
      expect(entries.map((e) => [e.path, e.body.toString()])).toEqual([['run.sh', '#!/bin/sh\necho hi\n']]);
    });

    it('makes a child that sees its parent, as it was', async () => {
      const parent = await create();
      await streamIn(parent.volume.handle, tarOf(FIXTURE));
      const child = await create(parent.volume.handle, { role: 'child' });
      expect(child.parent).toBe(parent.volume.handle);
      expect(child.labels).toEqual({ role: 'child' });
      expectFixture(await contents(child.volume.handle));
      expect(await contents(child.volume.handle)).toEqual(await contents(parent.volume.handle));
    });

    it("never lets a child's writes reach its parent", async () => {
      const parent = await create();
      await streamIn(parent.volume.handle, tarOf(FIXTURE));
      const before = await contents(parent.volume.handle);
      const child = await create(parent.volume.handle);
      await streamIn(
        child.volume.handle,
        tarOf([
          { path: 'a/run.sh', body: 'changed in the child', mode: 0o700 },
          { path: 'a/data.bin', body: 'shorter' },
          { path: 'new.txt', body: 'only in the child' },
          { path: 'link', type: 'SymbolicLink', linkpath: 'new.txt' },
        ]),
      );
      const inChild = await contents(child.volume.handle);
      expect(inChild.get('a/run.sh')?.body).toBe('changed in the child');
      expect(inChild.get('a/run.sh')?.mode).toBe(0o700);
      expect(inChild.get('new.txt')?.body).toBe('only in the child');
      expect(inChild.get('link')?.linkpath).toBe('new.txt');
      expect(await contents(parent.volume.handle)).toEqual(before);
    });

    it("never lets a child's deletions reach its parent (through the host path)", async (context) => {
      const parent = await create();
      await streamIn(parent.volume.handle, tarOf(FIXTURE));
      const before = await contents(parent.volume.handle);
      const child = await create(parent.volume.handle);
      const path = hostPath(child);
      if (!path) return context.skip('the driver gives no host path');
      await rm(join(path, 'a', 'data.bin'));
      await rm(join(path, 'a', 'deeper'), { recursive: true });
      await rm(join(path, 'link'));
      await writeFile(join(path, 'a', 'run.sh'), 'rewritten in place');
      const inChild = await contents(child.volume.handle);
      expect(inChild.has('a/data.bin')).toBe(false);
      expect(inChild.has('a/deeper')).toBe(false);
      expect(inChild.has('link')).toBe(false);
      expect(inChild.get('a/run.sh')?.body).toBe('rewritten in place');
      expect(await contents(parent.volume.handle)).toEqual(before);
      // A grandchild sees the child's deletions too.
      const grandchild = await create(child.volume.handle);
      expect(await contents(grandchild.volume.handle)).toEqual(await contents(child.volume.handle));
    });

    it('makes children of children that see every ancestor and write to none', async () => {
      const root = await create();
      await streamIn(root.volume.handle, tarOf(FIXTURE));
      const child = await create(root.volume.handle);
      await streamIn(child.volume.handle, tarOf([{ path: 'from-child.txt', body: 'child' }]));
      await streamIn(child.volume.handle, tarOf([{ path: 'a/run.sh', body: 'child version', mode: 0o755 }]));
      const grandchild = await create(child.volume.handle);
      await streamIn(grandchild.volume.handle, tarOf([{ path: 'from-grandchild.txt', body: 'grandchild' }]));
      const great = await create(grandchild.volume.handle);
      expect(great.parent).toBe(grandchild.volume.handle);

      const seen = await contents(great.volume.handle);
      expect(seen.get('from-child.txt')?.body).toBe('child');
      expect(seen.get('from-grandchild.txt')?.body).toBe('grandchild');
      expect(seen.get('a/run.sh')?.body).toBe('child version');
      expect(seen.get('a/data.bin')?.body).toBe(BIG.toString('latin1'));
      await streamIn(great.volume.handle, tarOf([{ path: 'a/run.sh', body: 'great version' }]));
      expect((await contents(grandchild.volume.handle)).get('a/run.sh')?.body).toBe('child version');
      expect((await contents(child.volume.handle)).has('from-grandchild.txt')).toBe(false);
      expect((await contents(root.volume.handle)).get('a/run.sh')?.body).toBe('#!/bin/sh\necho hi\n');
    });

    it('makes several children of one parent at once, each on its own', async () => {
      const parent = await create();
      await streamIn(parent.volume.handle, tarOf(FIXTURE));
      const children = await Promise.all([1, 2, 3, 4].map(() => create(parent.volume.handle)));
      await Promise.all(
        children.map((child, i) =>
          streamIn(child.volume.handle, tarOf([{ path: 'a/run.sh', body: `child ${i}` }])),
        ),
      );
      for (const [i, child] of children.entries()) {
        expect((await contents(child.volume.handle)).get('a/run.sh')?.body).toBe(`child ${i}`);
      }
      expect((await contents(parent.volume.handle)).get('a/run.sh')?.body).toBe('#!/bin/sh\necho hi\n');
    });

    // Declared only for drivers that promise it (overlay reads through to its parent's layer).
    if (guarantees.childIsolatedFromLaterParentWrites)
      it('keeps a child as it was when its parent is written later', async () => {
        const parent = await create();
        await streamIn(parent.volume.handle, tarOf(FIXTURE));
        const child = await create(parent.volume.handle);
        const before = await contents(child.volume.handle);
        await streamIn(
          parent.volume.handle,
          tarOf([
            { path: 'a/run.sh', body: 'changed in the parent later' },
            { path: 'later.txt', body: 'only in the parent' },
          ]),
        );
        expect(await contents(child.volume.handle)).toEqual(before);
      });

    it('refuses a taken handle and a child of a volume that does not exist', async () => {
      const existing = await create();
      await expect(
        plugin.call('createVolume', { handle: existing.volume.handle, strategy: { type: 'empty' } }),
      ).rejects.toMatchObject({ code: code('VOLUME_EXISTS') });
      await expect(
        plugin.call('createVolume', {
          handle: `conformance-${process.pid}-orphan`,
          strategy: { type: 'child', parent: 'no-such-volume' },
        }),
      ).rejects.toMatchObject({ code: code('PARENT_NOT_FOUND') });
      const handles = (await plugin.call('listVolumes', {})).value.volumes.map((v) => v.volume.handle);
      expect(handles).not.toContain(`conformance-${process.pid}-orphan`);
    });

    it('destroys a volume once, and leaves nothing of it', async () => {
      const info = await create(undefined, { doomed: `${process.pid}` });
      await streamIn(info.volume.handle, tarOf(FIXTURE));
      const destroyed = await plugin.call('destroyVolume', { handle: info.volume.handle });
      expect(destroyed.value).toEqual({ destroyed: true });
      const listed = await plugin.call('listVolumes', { labels: { doomed: `${process.pid}` } });
      expect(listed.value.volumes).toEqual([]);
      await expect(plugin.call('streamOut', { handle: info.volume.handle })).rejects.toMatchObject({
        code: code('VOLUME_NOT_FOUND'),
      });
      await expect(
        plugin.call('streamIn', { handle: info.volume.handle }, { input: [] }),
      ).rejects.toMatchObject({ code: code('VOLUME_NOT_FOUND') });
      const path = hostPath(info);
      if (path) await expect(lstat(path)).rejects.toMatchObject({ code: 'ENOENT' });
      expect((await plugin.call('destroyVolume', { handle: info.volume.handle })).value).toEqual({
        destroyed: false,
      });
    });

    if (guarantees.parentDestroyableBeforeChildren) {
      it('destroys a parent before its children, which keep their content', async () => {
        const parent = await create();
        await streamIn(parent.volume.handle, tarOf(FIXTURE));
        const child = await create(parent.volume.handle);
        const grandchild = await create(child.volume.handle);
        const before = await contents(grandchild.volume.handle);
        expect((await plugin.call('destroyVolume', { handle: parent.volume.handle })).value.destroyed).toBe(
          true,
        );
        expect((await plugin.call('destroyVolume', { handle: child.volume.handle })).value.destroyed).toBe(
          true,
        );
        expect(await contents(grandchild.volume.handle)).toEqual(before);
        expectFixture(before);
      });
    } else {
      it(`refuses to destroy a volume that has children (${codePrefix}_VOLUME_HAS_CHILDREN), and changes nothing`, async () => {
        const parent = await create();
        await streamIn(parent.volume.handle, tarOf(FIXTURE));
        const child = await create(parent.volume.handle);
        const grandchild = await create(child.volume.handle);
        const before = await contents(grandchild.volume.handle);
        for (const volume of [parent, child]) {
          const refusal = plugin.call('destroyVolume', { handle: volume.volume.handle });
          await expect(refusal).rejects.toMatchObject({ code: code('VOLUME_HAS_CHILDREN') });
          await expect(refusal).rejects.toThrow(volume.volume.handle);
        }
        expect(await contents(grandchild.volume.handle)).toEqual(before);
        expectFixture(await contents(parent.volume.handle));
        // Children first, as the core's GC destroys them, and then each goes.
        for (const volume of [grandchild, child, parent]) {
          expect((await plugin.call('destroyVolume', { handle: volume.volume.handle })).value.destroyed).toBe(
            true,
          );
        }
      });
    }

    it('lists volumes by labels', async () => {
      const run = `${process.pid}-${Date.now()}`;
      const a = await create(undefined, { run, step: 'a', kind: 'output' });
      const b = await create(undefined, { run, step: 'b', kind: 'output' });
      const c = await create(a.volume.handle, { run, step: 'c', kind: 'input' });
      const handles = async (labels?: Labels) =>
        (await plugin.call('listVolumes', labels ? { labels } : {})).value.volumes
          .map((v) => v.volume.handle)
          .sort();
      expect(await handles({ run })).toEqual([a, b, c].map((v) => v.volume.handle).sort());
      expect(await handles({ run, kind: 'output' })).toEqual([a, b].map((v) => v.volume.handle).sort());
      expect(await handles({ run, step: 'c' })).toEqual([c.volume.handle]);
      expect(await handles({ run, step: 'nope' })).toEqual([]);
      expect(await handles()).toEqual(expect.arrayContaining([a, b, c].map((v) => v.volume.handle)));
      const listed = (await plugin.call('listVolumes', { labels: { run, step: 'c' } })).value.volumes[0];
      expect(listed).toEqual(c);
    });

    it('finds every volume as it was after a restart of the plugin', async () => {
      const parent = await create(undefined, { restart: 'parent' });
      await streamIn(parent.volume.handle, tarOf(FIXTURE));
      const child = await create(parent.volume.handle, { restart: 'child' });
      await streamIn(child.volume.handle, tarOf([{ path: 'child.txt', body: 'child' }]));
      const before = await contents(child.volume.handle);
      // A new instance over the same configuration: all it knows is what is on disk.
      plugin = await loadPluginForTest<'volume'>(options.packageDir, config);
      const listed = await plugin.call('listVolumes', { labels: { restart: 'child' } });
      expect(listed.value.volumes).toEqual([child]);
      expect(await contents(child.volume.handle)).toEqual(before);
    });

    describe('refuses tar entries that escape the volume, writing nothing outside it', () => {
      const cases: Array<[string, (outside: string) => TarEntry[], string[]]> = [
        ['an absolute path', (outside) => [{ path: join(outside, 'evil.txt'), body: 'pwned' }], []],
        ['a path with ..', () => [{ path: '../../evil.txt', body: 'pwned' }], []],
        [
          'a hard link to a file outside',
          (outside) => [{ path: 'hard', type: 'Link', linkpath: join(outside, 'secret') }],
          ['hard'],
        ],
        [
          'a hard link that climbs out',
          () => [{ path: 'hard', type: 'Link', linkpath: '../../secret' }],
          ['hard'],
        ],
        [
          'a relative symbolic link that climbs out',
          () => [{ path: 'dir/link', type: 'SymbolicLink', linkpath: '../../../outside' }],
          ['dir/link'],
        ],
        [
          'a file written through a symbolic link of the same archive',
          (outside) => [
            { path: 'escape', type: 'SymbolicLink', linkpath: outside },
            { path: 'escape/evil.txt', body: 'pwned' },
          ],
          ['escape/evil.txt'],
        ],
      ];
      for (const [name, entries, absent] of cases) {
        it(name, async () => {
          const outside = await mkdtemp(join(scratch, 'outside-'));
          await writeFile(join(outside, 'secret'), 'secret');
          const target = await create();
          await expect(streamIn(target.volume.handle, tarOf(entries(outside)))).rejects.toMatchObject({
            code: code('TAR_UNSAFE_ENTRY'),
          });
          expect(await readdir(outside)).toEqual(['secret']);
          await expect(lstat(join(scratch, 'evil.txt'))).rejects.toMatchObject({ code: 'ENOENT' });
          const seen = await contents(target.volume.handle);
          for (const path of absent) expect(seen.has(path), `${path} was written`).toBe(false);
        });
      }

      it('also in a child, leaving its parent as it was', async () => {
        const outside = await mkdtemp(join(scratch, 'outside-'));
        const parent = await create();
        await streamIn(parent.volume.handle, tarOf(FIXTURE));
        const before = await contents(parent.volume.handle);
        const child = await create(parent.volume.handle);
        const archive = tarOf([
          { path: 'a', type: 'SymbolicLink', linkpath: outside },
          { path: 'a/run.sh', body: 'pwned' },
        ]);
        await expect(streamIn(child.volume.handle, archive)).rejects.toMatchObject({
          code: code('TAR_UNSAFE_ENTRY'),
        });
        expect(await readdir(outside)).toEqual([]);
        expect(await contents(parent.volume.handle)).toEqual(before);
      });
    });

    it('refuses request paths that leave the volume, and streams nothing for a missing path', async () => {
      const info = await create();
      await expect(
        plugin.call('streamIn', { handle: info.volume.handle, path: '../elsewhere' }, { input: [] }),
      ).rejects.toMatchObject({ code: code('PATH_ESCAPES') });
      await expect(
        plugin.call('streamOut', { handle: info.volume.handle, path: '../../etc' }),
      ).rejects.toMatchObject({ code: code('PATH_ESCAPES') });
      await expect(
        plugin.call('streamOut', { handle: info.volume.handle, path: 'missing' }),
      ).rejects.toMatchObject({ code: code('PATH_NOT_FOUND') });
      await streamIn(
        info.volume.handle,
        tarOf([{ path: 'way-out', type: 'SymbolicLink', linkpath: scratch }]),
      );
      await expect(
        plugin.call('streamOut', { handle: info.volume.handle, path: 'way-out' }),
      ).rejects.toMatchObject({ code: code('PATH_ESCAPES') });
      await expect(
        plugin.call('streamIn', { handle: info.volume.handle, path: 'way-out/x' }, { input: [] }),
      ).rejects.toMatchObject({ code: code('PATH_ESCAPES') });
    });

    // Changing owners needs root: skipped loudly on a laptop, and an error in CI, which runs as root.
    const ownersSkip = isRoot ? undefined : 'changing owners needs root (CAP_CHOWN)';
    if (ownersSkip && process.env.CI === 'true') {
      throw new Error(`CI must run the ${options.name} owner checks: ${ownersSkip}`);
    }
    if (ownersSkip) console.warn(`SKIPPING the ${options.name} owner checks: ${ownersSkip}`);

    describe.skipIf(Boolean(ownersSkip))('owners for user namespaces (idMapping, shiftOwnership)', () => {
      /** The volume's root directory as streamOut reports it. */
      async function rootOf(handle: string): Promise<ReadTarEntry | undefined> {
        const { bytes } = await plugin.call('streamOut', { handle });
        return (await readTar(bytes)).find((entry) => entry.path === '.');
      }

      async function shift(handle: string, idMapping: IdMapping = MAPPING): Promise<number> {
        return (await plugin.call('shiftOwnership', { handle, idMapping })).value.entries;
      }

      /** Checks that `handle` holds UNSHIFTED shifted into MAPPING, its root too. */
      async function expectShifted(handle: string): Promise<void> {
        const seen = await contents(handle);
        for (const [path, [uid, gid, mode]] of SHIFTED) {
          const got = seen.get(path);
          expect([got?.uid, got?.gid], `owner of ${path}`).toEqual([uid, gid]);
          expect(got?.mode, `mode of ${path}`).toBe(mode);
        }
        expect(seen.get('home/user/notes.txt')?.body).toBe('mine');
        expect(seen.get('home/user/link')?.linkpath).toBe('notes.txt');
        const root = await rootOf(handle);
        expect([root?.uid, root?.gid], 'owner of the root').toEqual([MAPPING.hostUid, MAPPING.hostGid]);
      }

      it("creates an empty volume whose root belongs to the mapping's root, mode unchanged", async () => {
        const plain = await create();
        const mapped = await create(undefined, {}, MAPPING);
        const root = await rootOf(mapped.volume.handle);
        expect([root?.uid, root?.gid]).toEqual([MAPPING.hostUid, MAPPING.hostGid]);
        expect(root?.mode).toBe((await rootOf(plain.volume.handle))?.mode);
        const path = hostPath(mapped);
        if (path) {
          const stats = await lstat(path);
          expect([stats.uid, stats.gid]).toEqual([MAPPING.hostUid, MAPPING.hostGid]);
        }
        // Nothing to shift: the root is the mapping's already.
        expect(await shift(mapped.volume.handle)).toBe(0);
        // A child keeps its parent's owners, whether or not it is given the mapping too.
        for (const idMapping of [undefined, MAPPING]) {
          const child = await create(mapped.volume.handle, {}, idMapping);
          const childRoot = await rootOf(child.volume.handle);
          expect([childRoot?.uid, childRoot?.gid]).toEqual([MAPPING.hostUid, MAPPING.hostGid]);
          expect(childRoot?.mode).toBe(root?.mode);
        }
      });

      it('shifts owners below the size into the mapping, once, keeping setuid and setgid bits', async () => {
        const info = await create();
        await streamIn(info.volume.handle, tarOf(UNSHIFTED));
        expect(await shift(info.volume.handle)).toBe(UNSHIFTED_CHANGES);
        await expectShifted(info.volume.handle);
        const after = await contents(info.volume.handle);
        expect(await shift(info.volume.handle)).toBe(0);
        expect(await contents(info.volume.handle)).toEqual(after);
      });

      it('changes the owners of symbolic links, never of what they point to outside the volume', async () => {
        const outside = await mkdtemp(join(scratch, 'outside-'));
        await mkdir(join(outside, 'dir'));
        await writeFile(join(outside, 'dir', 'deep.txt'), 'outside');
        await writeFile(join(outside, 'secret'), 'outside');
        const info = await create();
        await streamIn(
          info.volume.handle,
          tarOf([
            { path: 'to-file', type: 'SymbolicLink', linkpath: join(outside, 'secret'), uid: 0, gid: 0 },
            { path: 'to-dir', type: 'SymbolicLink', linkpath: join(outside, 'dir'), uid: 1000, gid: 1000 },
            { path: 'up', type: 'SymbolicLink', linkpath: '/', uid: 0, gid: 0 },
          ]),
        );
        // The root and the three links.
        expect(await shift(info.volume.handle)).toBe(4);
        const seen = await contents(info.volume.handle);
        expect([seen.get('to-file')?.uid, seen.get('to-file')?.gid]).toEqual([
          MAPPING.hostUid,
          MAPPING.hostGid,
        ]);
        expect([seen.get('to-dir')?.uid, seen.get('to-dir')?.gid]).toEqual([
          MAPPING.hostUid + 1000,
          MAPPING.hostGid + 1000,
        ]);
        expect(seen.get('to-dir')?.linkpath).toBe(join(outside, 'dir'));
        for (const path of [
          outside,
          join(outside, 'dir'),
          join(outside, 'dir', 'deep.txt'),
          join(outside, 'secret'),
        ]) {
          const stats = await lstat(path);
          expect([stats.uid, stats.gid], `owner of ${path}`).toEqual([0, 0]);
        }
        expect((await lstat('/')).uid).toBe(0);
      });

      it('makes children of a shifted parent that see the shifted owners', async () => {
        const parent = await create();
        await streamIn(parent.volume.handle, tarOf(UNSHIFTED));
        expect(await shift(parent.volume.handle)).toBe(UNSHIFTED_CHANGES);
        const child = await create(parent.volume.handle);
        await expectShifted(child.volume.handle);
        expect(await shift(child.volume.handle)).toBe(0);
        const grandchild = await create(child.volume.handle);
        await expectShifted(grandchild.volume.handle);
      });

      it('shifts a child, leaving its parent as it was', async () => {
        const parent = await create();
        await streamIn(parent.volume.handle, tarOf(UNSHIFTED));
        const before = await contents(parent.volume.handle);
        const rootBefore = await rootOf(parent.volume.handle);
        const child = await create(parent.volume.handle);
        expect(await shift(child.volume.handle)).toBe(UNSHIFTED_CHANGES);
        await expectShifted(child.volume.handle);
        expect(await shift(child.volume.handle)).toBe(0);
        expect(await contents(parent.volume.handle)).toEqual(before);
        expect(await rootOf(parent.volume.handle)).toEqual(rootBefore);
      });

      it('refuses to shift a volume that does not exist, or into a mapping past the largest id', async () => {
        await expect(shift(`conformance-${process.pid}-missing`)).rejects.toMatchObject({
          code: code('VOLUME_NOT_FOUND'),
        });
        const info = await create();
        await streamIn(info.volume.handle, tarOf(UNSHIFTED));
        const before = await contents(info.volume.handle);
        const tooHigh: IdMapping = { hostUid: 4_294_967_000, hostGid: 1000, size: 65_536 };
        await expect(shift(info.volume.handle, tooHigh)).rejects.toMatchObject({
          code: code('ID_MAPPING_INVALID'),
        });
        await expect(
          plugin.call('createVolume', {
            handle: `conformance-${process.pid}-too-high`,
            strategy: { type: 'empty' },
            idMapping: tooHigh,
          }),
        ).rejects.toMatchObject({ code: code('ID_MAPPING_INVALID') });
        expect(await contents(info.volume.handle)).toEqual(before);
      });
    });

    it('takes an empty stream as nothing to extract, and refuses one that is not tar', async () => {
      const info = await create();
      expect(await streamIn(info.volume.handle, Buffer.alloc(0))).toBe(0);
      await expect(streamIn(info.volume.handle, Buffer.from('not a tar '.repeat(100)))).rejects.toMatchObject(
        {
          code: code('TAR_FAILED'),
        },
      );
    });
  });
}
