import { createHash } from 'node:crypto';
import { copyFile, cp, lstat, mkdir, readdir, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadPluginForTest, type PluginUnderTest } from '@conveyor/plugin-api/testing';
import {
  dockerRegistryUnavailable,
  startDockerRegistry,
  type TestRegistry,
} from '@conveyor/test/harness/docker-registry.js';
import {
  buildBusyboxImage,
  busyboxUnavailable,
  imageScratch,
  MEDIA_TYPES,
  type OciImage,
  ociArchitecture,
} from '@conveyor/test/harness/oci-images.js';
import * as tar from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rewriteTarball, stepDirectory, tamperBlob, withLayer } from './helpers.js';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const unavailable = dockerRegistryUnavailable() ?? busyboxUnavailable();
const sha256 = (data: Buffer) => `sha256:${createHash('sha256').update(data).digest('hex')}`;
const descriptor = ({ mediaType, digest, size }: { mediaType: string; digest: string; size: number }) => ({
  mediaType,
  digest,
  size,
});

describe.skipIf(unavailable !== undefined)('registry-image resource', () => {
  let registry: TestRegistry;
  let authRegistry: TestRegistry;
  let scratch: string;
  let plugin: PluginUnderTest<'resource-type'>;
  let image: OciImage;
  let changed: OciImage;
  let counter = 0;

  beforeAll(async () => {
    scratch = await imageScratch();
    [registry, authRegistry, plugin, image, changed] = await Promise.all([
      startDockerRegistry(),
      startDockerRegistry({ auth: true }),
      loadPluginForTest<'resource-type'>(packageDir),
      buildBusyboxImage(scratch, { env: ['PATH=/bin', 'GREETING=hello'], user: 'tester' }),
      buildBusyboxImage(scratch, { files: { '/etc/motd': 'a new version\n' } }),
    ]);
  });

  afterAll(async () => {
    await registry?.stop();
    await authRegistry?.stop();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  const dir = () => stepDirectory(scratch, `step-${++counter}`);
  const source = (repository: string, extra: Record<string, unknown> = {}) => ({
    repository: `${registry.host}/${repository}`,
    ...extra,
  });
  const check = async (src: Record<string, unknown>, version?: Record<string, string>) =>
    (await plugin.call('check', version ? { source: src, version } : { source: src })).value.versions;

  describe('check', () => {
    it('answers the digest the tag points at, and the new one when the tag moves', async () => {
      await registry.push(image, 'check/app', 'stable');
      const src = source('check/app', { tag: 'stable' });
      expect(await check(src)).toEqual([{ digest: image.manifest.digest }]);
      expect(await check(src, { digest: image.manifest.digest })).toEqual([
        { digest: image.manifest.digest },
      ]);

      await registry.push(changed, 'check/app', 'stable');
      expect(await check(src)).toEqual([{ digest: changed.manifest.digest }]);
      // From the old version: it is still in the repository, so it comes first.
      expect(await check(src, { digest: image.manifest.digest })).toEqual([
        { digest: image.manifest.digest },
        { digest: changed.manifest.digest },
      ]);
    });

    it('takes a numeric tag, and latest by default', async () => {
      await registry.push(image, 'check/numbers', '7');
      await registry.push(changed, 'check/numbers', 'latest');
      expect(await check(source('check/numbers', { tag: 7 }))).toEqual([{ digest: image.manifest.digest }]);
      expect(await check(source('check/numbers'))).toEqual([{ digest: changed.manifest.digest }]);
    });

    it('answers no versions for a tag or repository that does not exist', async () => {
      await registry.push(image, 'check/present', 'v1');
      expect(await check(source('check/present', { tag: 'v2' }))).toEqual([]);
      expect(await check(source('check/absent'))).toEqual([]);
    });

    it('uses credentials, and says so without them, never printing the password', async () => {
      await authRegistry.push(image, 'private/app', 'v1');
      const src = { repository: `${authRegistry.host}/private/app`, tag: 'v1' };
      await expect(check(src)).rejects.toMatchObject({ code: 'REGISTRY_IMAGE_REGISTRY_UNAUTHORIZED' });
      const wrong = check({ ...src, username: 'conveyor', password: 'not-the-password-42' });
      await expect(wrong).rejects.toMatchObject({
        code: 'REGISTRY_IMAGE_REGISTRY_UNAUTHORIZED',
        message: expect.stringContaining('private/app'),
      });
      await expect(wrong).rejects.toSatisfy((error: Error) => !error.message.includes('not-the-password-42'));
      expect(await check({ ...src, ...authRegistry.credentials })).toEqual([
        { digest: image.manifest.digest },
      ]);
    });

    it('fails with a stable code when the registry cannot be reached', async () => {
      // A loopback port nobody listens on: the registry we stop.
      const gone = await startDockerRegistry();
      const host = gone.host;
      await gone.stop();
      await expect(check({ repository: `${host}/any/app` })).rejects.toMatchObject({
        code: 'REGISTRY_IMAGE_REGISTRY_UNREACHABLE',
        message: expect.stringContaining('any/app'),
      });
    });

    it('refuses a repository with a tag in it, and unsupported tracking modes', async () => {
      await expect(check(source('check/app:v1'))).rejects.toMatchObject({
        code: 'REGISTRY_IMAGE_BAD_SOURCE',
      });
      await expect(
        check(source('check/app', { tag_regex: 'v.*', created_at_sort: true })),
      ).rejects.toMatchObject({ code: 'REGISTRY_IMAGE_UNSUPPORTED_FEATURE' });
      await expect(
        check(source('check/app', { aws_region: 'eu-west-1', debug: true })),
      ).resolves.toBeDefined();
      await expect(check(source('check/app', { tagg: 'v1' }))).rejects.toMatchObject({
        code: 'CONFORMANCE_BAD_REQUEST',
      });
    });
  });

  describe('check of a family of tags (tag_regex, semver_constraint, variant)', () => {
    /** One image per name, each a layer apart so their digests differ. */
    const images = new Map<string, OciImage>();
    const imageOf = (name: string) => {
      let made = images.get(name);
      if (!made) {
        made = withLayer(image, [{ path: 'etc/flavour', body: `${name}\n` }]);
        images.set(name, made);
      }
      return made;
    };
    const digestOf = (name: string) => imageOf(name).manifest.digest;
    const version = (tag: string, name = tag) => ({ tag, digest: digestOf(name) });

    // The family: 1.2 is an alias of 1.2.0, alpine of 1.3.0-alpine; latest and nightly stand alone.
    const family: Array<[tag: string, name: string]> = [
      ['1.0.0', '1.0.0'],
      ['1.2.0', '1.2.0'],
      ['1.2', '1.2.0'],
      ['1.10.0', '1.10.0'],
      ['2.0.0', '2.0.0'],
      ['2.1.0-rc.1', '2.1.0-rc.1'],
      ['1.2.0-alpine', '1.2.0-alpine'],
      ['1.3.0-alpine', '1.3.0-alpine'],
      ['alpine', '1.3.0-alpine'],
      ['1.2.0-rc.1-alpine', '1.2.0-rc.1-alpine'],
      ['latest', 'edge'],
      ['nightly', 'nightly'],
    ];
    beforeAll(async () => {
      for (const [tag, name] of family) await registry.push(imageOf(name), 'family/app', tag);
    });

    it('semver_constraint picks version tags in range, in version order, each digest once', async () => {
      const src = (constraint: string) => source('family/app', { semver_constraint: constraint });
      // 1.10.0 after 1.2.0; 1.2.0 rather than its alias 1.2; no suffixed, pre-release or other tag.
      expect(await check(src('>= 1.0, < 2'))).toEqual([
        version('1.0.0'),
        version('1.2.0'),
        version('1.10.0'),
      ]);
      expect(await check(src('>= 1.0 < 2'))).toEqual([version('1.0.0'), version('1.2.0'), version('1.10.0')]);
      expect(await check(src('^1.2'))).toEqual([version('1.2.0'), version('1.10.0')]);
      expect(await check(src('~1.2'))).toEqual([version('1.2.0')]);
      expect(await check(src('~> 1.2'))).toEqual([version('1.2.0')]);
      expect(await check(src('1.0.x || >= 2'))).toEqual([version('1.0.0'), version('2.0.0')]);
      expect(await check(src('!= 1.2, < 2'))).toEqual([version('1.0.0'), version('1.10.0')]);
      expect(await check(src('=< 1.2'))).toEqual([version('1.0.0'), version('1.2.0')]);
      expect(await check(src('> 3'))).toEqual([]);
    });

    it('takes pre-releases with pre_releases, and latest last when nothing narrows the range', async () => {
      expect(await check(source('family/app', { pre_releases: true }))).toEqual([
        version('1.0.0'),
        version('1.2.0'),
        version('1.10.0'),
        version('2.0.0'),
        version('2.1.0-rc.1'),
        version('latest', 'edge'),
      ]);
    });

    it('starts from the given version, resolving nothing older', async () => {
      const src = source('family/app', { semver_constraint: '>= 1.0, < 2' });
      expect(await check(src, version('1.2.0'))).toEqual([version('1.2.0'), version('1.10.0')]);
      expect(await check(src, version('1.10.0'))).toEqual([version('1.10.0')]);
      // A version without a tag (the shape `tag` tracking answers) starts nowhere: all of them.
      expect(await check(src, { digest: digestOf('1.2.0') })).toHaveLength(3);
    });

    it('answers every version again when the given tag was deleted or moved, as Concourse does', async () => {
      for (const tag of ['1.0.0', '1.1.0', '2.0.0']) await registry.push(imageOf(tag), 'family/moving', tag);
      const src = source('family/moving', { semver_constraint: '>= 1' });
      expect(await check(src, version('1.1.0'))).toEqual([version('1.1.0'), version('2.0.0')]);

      // Deleting the manifest takes its tag with it.
      const deleted = await fetch(`${registry.url}/v2/family/moving/manifests/${digestOf('1.1.0')}`, {
        method: 'DELETE',
      });
      expect(deleted.status).toBe(202);
      expect(await check(src, version('1.1.0'))).toEqual([version('1.0.0'), version('2.0.0')]);

      // Pushed again with other content: the tag is there, at a digest the version does not name.
      await registry.push(imageOf('1.1.0-rebuilt'), 'family/moving', '1.1.0');
      expect(await check(src, version('1.1.0'))).toEqual([
        version('1.0.0'),
        version('1.1.0', '1.1.0-rebuilt'),
        version('2.0.0'),
      ]);
    });

    it('variant follows the -variant family; its bare tag counts only at a digest of its own', async () => {
      expect(await check(source('family/app', { variant: 'alpine' }))).toEqual([
        version('1.2.0-alpine'),
        version('1.3.0-alpine'),
      ]);
      expect(await check(source('family/app', { variant: 'alpine', semver_constraint: '< 1.3' }))).toEqual([
        version('1.2.0-alpine'),
      ]);
      expect(await check(source('family/app', { variant: 'alpine', pre_releases: true }))).toEqual([
        version('1.2.0-rc.1-alpine'),
        version('1.2.0-alpine'),
        version('1.3.0-alpine'),
      ]);
      expect(await check(source('family/app', { variant: 'slim' }))).toEqual([]);
    });

    it('tag_regex follows the matching tags in lexical order, from the given one on', async () => {
      const src = source('family/app', { tag_regex: '^1\\.\\d+\\.0$' });
      expect(await check(src)).toEqual([version('1.0.0'), version('1.10.0'), version('1.2.0')]);
      expect(await check(src, version('1.10.0'))).toEqual([version('1.10.0'), version('1.2.0')]);
      // As in Concourse (Go's MatchString), an expression without ^…$ matches anywhere in the tag.
      expect(await check(source('family/app', { tag_regex: 'alpine' }))).toEqual([
        version('1.2.0-alpine'),
        version('1.2.0-rc.1-alpine'),
        version('1.3.0-alpine'),
        version('alpine', '1.3.0-alpine'),
      ]);
    });

    it('refuses sources that mix the ways to follow tags, naming the keys', async () => {
      const refused = (extra: Record<string, unknown>, ...words: string[]) =>
        expect(check(source('family/app', extra))).rejects.toMatchObject({
          code: 'REGISTRY_IMAGE_BAD_SOURCE',
          message: expect.stringMatching(new RegExp(words.join('.*'))),
        });
      await refused({ tag: 'latest', tag_regex: '.*' }, 'source.tag and source.tag_regex');
      await refused({ tag: '1.2.0', semver_constraint: '^1' }, 'source.tag and source.semver_constraint');
      await refused(
        { tag_regex: '.*', semver_constraint: '^1' },
        'source.tag_regex and source.semver_constraint',
      );
      await refused({ tag: 'latest', pre_releases: true }, 'source.tag and source.pre_releases');
      await refused({ tag_regex: '.*', variant: 'alpine' }, 'source.tag_regex and source.variant');
      await refused({ tag_regex: '.*', pre_releases: true }, 'source.tag_regex and source.pre_releases');
      await refused({ tag_regex: '(unclosed' }, 'source.tag_regex', 'not a regular expression');
      await refused({ semver_constraint: '>= banana' }, 'source.semver_constraint', 'banana');
      await refused({ semver_constraint: '>= 1,' }, 'source.semver_constraint', 'empty part');
      await refused({ variant: 'has space' }, 'source.variant');
      // Go's zero values are "not set", as in Concourse.
      expect(await check(source('family/app', { tag: '1.2.0', tag_regex: '', pre_releases: false }))).toEqual(
        [{ digest: digestOf('1.2.0') }],
      );
      expect(await check(source('family/absent', { semver_constraint: '^1' }))).toEqual([]);
    });

    it('get fetches a { tag, digest } version by its digest and writes its tag', async () => {
      const step = await dir();
      const src = source('family/app', { semver_constraint: '^1' });
      const { value } = await plugin.call('get', {
        source: src,
        version: version('1.10.0'),
        directory: step.ref,
      });
      expect(value.version).toEqual(version('1.10.0'));
      expect(value.metadata).toContainEqual({ name: 'tag', value: '1.10.0' });
      expect(await readFile(join(step.path, 'tag'), 'utf8')).toBe('1.10.0');
      expect(await readFile(join(step.path, 'digest'), 'utf8')).toBe(digestOf('1.10.0'));
      expect(await readFile(join(step.path, 'rootfs/etc/flavour'), 'utf8')).toBe('1.10.0\n');

      const oci = await dir();
      await plugin.call('get', {
        source: src,
        version: version('1.2.0-alpine'),
        directory: oci.ref,
        params: { format: 'oci' },
      });
      const unpacked = join(oci.path, 'unpacked');
      await mkdir(unpacked);
      await tar.x({ file: join(oci.path, 'image.tar'), cwd: unpacked });
      const index = JSON.parse(await readFile(join(unpacked, 'index.json'), 'utf8'));
      expect(index.manifests[0].digest).toBe(digestOf('1.2.0-alpine'));
      expect(index.manifests[0].annotations['org.opencontainers.image.ref.name']).toBe('1.2.0-alpine');
    });

    it('put to a family pushes to additional_tags, and answers the version check will find', async () => {
      const step = await dir();
      await copyFile(image.tarball, join(step.path, 'image.tar'));
      await writeFile(join(step.path, 'tags'), 'edge 3.0.0\n');
      const src = source('family/pushed', { semver_constraint: '>= 3' });
      const { value } = await plugin.call('put', {
        source: src,
        directory: step.ref,
        params: { image: 'image.tar', additional_tags: 'tags' },
      });
      expect(value.version).toEqual({ tag: '3.0.0', digest: image.manifest.digest });
      expect(await check(src)).toEqual([value.version]);
      await expect(
        plugin.call('put', { source: src, directory: step.ref, params: { image: 'image.tar' } }),
      ).rejects.toMatchObject({
        code: 'REGISTRY_IMAGE_BAD_PARAMS',
        message: expect.stringContaining('additional_tags'),
      });
    });

    it('put with version pushes its tag, and bump_aliases moves the aliases nothing later holds', async () => {
      const step = await dir();
      await copyFile(image.tarball, join(step.path, 'image.tar'));
      for (const tag of ['1.2.0', '1.3.5', '2.0.0']) await registry.push(imageOf(tag), 'bump/app', tag);
      const put = async (src: Record<string, unknown>, params: Record<string, unknown>) =>
        (
          await plugin.call('put', {
            source: src,
            directory: step.ref,
            params: { image: 'image.tar', ...params },
          })
        ).value;
      const tagsOf = (value: { metadata?: Array<{ name: string; value: string }> }) =>
        value.metadata?.find((field) => field.name === 'tags')?.value;
      const semverSource = source('bump/app', { semver_constraint: '>= 1' });

      // 1.3.5 is a later patch: no alias moves. 1.4.0: 1 and 1.4, but 2.0.0 keeps latest.
      const older = await put(semverSource, { version: '1.3.2', bump_aliases: true });
      expect(tagsOf(older)).toBe('1.3.2');
      expect(older.version).toEqual({ tag: '1.3.2', digest: image.manifest.digest });
      expect(tagsOf(await put(semverSource, { version: 'v1.4', bump_aliases: true }))).toBe('1.4.0 1 1.4');
      expect(tagsOf(await put(semverSource, { version: '2.1.0', bump_aliases: true }))).toBe(
        '2.1.0 latest 2 2.1',
      );
      // A pre-release moves nothing.
      expect(tagsOf(await put(semverSource, { version: '3.0.0-rc.1', bump_aliases: true }))).toBe(
        '3.0.0-rc.1',
      );

      // With a variant, against that variant's tags only; the bare variant is its latest.
      const alpine = source('bump/app', { variant: 'alpine' });
      expect(tagsOf(await put(alpine, { version: '1.0.0', bump_aliases: true }))).toBe(
        '1.0.0-alpine alpine 1-alpine 1.0-alpine',
      );
      // source.tag and variant: the tag, then the version's tag with the suffix.
      expect(
        tagsOf(await put(source('bump/app', { tag: 'edge', variant: 'alpine' }), { version: '0.9.0' })),
      ).toBe('edge 0.9.0-alpine');
      // No source.tag: the version's tag only, not latest.
      const plain = await put(source('bump/plain'), { version: '1.0.0' });
      expect(tagsOf(plain)).toBe('1.0.0');
      expect(plain.version).toEqual({ digest: image.manifest.digest });
      expect(await check(source('bump/plain', { tag: '1.0.0' }))).toEqual([
        { digest: image.manifest.digest },
      ]);
      expect(await check(source('bump/plain'))).toEqual([]);

      await expect(put(semverSource, { version: 'banana' })).rejects.toMatchObject({
        code: 'REGISTRY_IMAGE_BAD_PARAMS',
        message: expect.stringContaining('banana'),
      });
      await expect(put(semverSource, { bump_aliases: true })).rejects.toMatchObject({
        code: 'REGISTRY_IMAGE_BAD_PARAMS',
        message: expect.stringContaining('params.version'),
      });
    });
  });

  describe('get', () => {
    it('writes rootfs/, metadata.json and the repository, tag and digest files', async () => {
      await registry.push(image, 'get/app', 'v1');
      const src = source('get/app', { tag: 'v1' });
      const step = await dir();
      const { value, output } = await plugin.call('get', {
        source: src,
        version: { digest: image.manifest.digest },
        directory: step.ref,
      });
      expect(value.version).toEqual({ digest: image.manifest.digest });
      expect(await readFile(join(step.path, 'repository'), 'utf8')).toBe(`${registry.host}/get/app`);
      expect(await readFile(join(step.path, 'tag'), 'utf8')).toBe('v1');
      expect(await readFile(join(step.path, 'digest'), 'utf8')).toBe(image.manifest.digest);
      expect(await readFile(join(step.path, 'rootfs/etc/os-release'), 'utf8')).toContain(
        'ID=conveyor-busybox',
      );
      expect((await stat(join(step.path, 'rootfs/bin/busybox'))).mode & 0o111).not.toBe(0);
      expect((await lstat(join(step.path, 'rootfs/bin/sh'))).isSymbolicLink()).toBe(true);
      expect((await stat(join(step.path, 'rootfs/tmp'))).mode & 0o7777).toBe(0o1777);
      expect(JSON.parse(await readFile(join(step.path, 'metadata.json'), 'utf8'))).toEqual({
        env: ['PATH=/bin', 'GREETING=hello'],
        user: 'tester',
      });
      expect((await readdir(step.path)).sort()).toEqual([
        'digest',
        'metadata.json',
        'repository',
        'rootfs',
        'tag',
      ]);
      expect(
        output
          .filter((o) => o.stream === 'log')
          .map((o) => o.data)
          .join('\n'),
      ).toContain('layer 1/1');
    });

    it('applies layers in order: whiteouts delete, opaque directories hide, later files win', async () => {
      const layered = withLayer(
        image,
        [
          { path: 'etc/.wh.os-release', body: '' },
          { path: 'etc/passwd', body: 'root:x:0:0:root:/root:/bin/sh\n' },
          { path: 'home/', type: 'Directory' },
          { path: 'home/.wh..wh..opq', body: '' },
          { path: 'home/new/', type: 'Directory' },
          { path: 'home/new/file', body: 'kept\n' },
          { path: 'opt/', type: 'Directory' },
          { path: 'opt/tool', body: '#!/bin/sh\necho tool\n', mode: 0o755 },
          { path: 'opt/tool-again', type: 'Link', linkpath: 'opt/tool' },
        ],
        ['PATH=/bin', 'LAYER=two'],
      );
      await registry.push(layered, 'get/layered', 'v1');
      const step = await dir();
      await plugin.call('get', {
        source: source('get/layered', { tag: 'v1' }),
        version: { digest: layered.manifest.digest },
        directory: step.ref,
      });
      const rootfs = join(step.path, 'rootfs');
      await expect(lstat(join(rootfs, 'etc/os-release'))).rejects.toMatchObject({ code: 'ENOENT' });
      expect(await readdir(join(rootfs, 'etc'))).not.toContain('.wh.os-release');
      expect(await readFile(join(rootfs, 'etc/passwd'), 'utf8')).toBe('root:x:0:0:root:/root:/bin/sh\n');
      // The lower layer's home/tester is hidden; this layer's home/new stays.
      expect(await readdir(join(rootfs, 'home'))).toEqual(['new']);
      expect(await readFile(join(rootfs, 'home/new/file'), 'utf8')).toBe('kept\n');
      expect((await stat(join(rootfs, 'opt/tool'))).mode & 0o777).toBe(0o755);
      expect((await stat(join(rootfs, 'opt/tool-again'))).ino).toBe(
        (await stat(join(rootfs, 'opt/tool'))).ino,
      );
      expect(await readFile(join(rootfs, 'etc/group'), 'utf8')).toContain('tester');
      expect(JSON.parse(await readFile(join(step.path, 'metadata.json'), 'utf8')).env).toEqual([
        'PATH=/bin',
        'LAYER=two',
      ]);
    });

    it('refuses a layer entry that climbs out of rootfs, and keeps links inside it', async () => {
      const outside = join(scratch, `outside-${counter}`);
      const escaping = withLayer(image, [{ path: '../escaped', body: 'nope\n' }]);
      await registry.push(escaping, 'get/escaping', 'v1');
      const step = await dir();
      await expect(
        plugin.call('get', {
          source: source('get/escaping', { tag: 'v1' }),
          version: { digest: escaping.manifest.digest },
          directory: step.ref,
        }),
      ).rejects.toMatchObject({ code: 'REGISTRY_IMAGE_UNSAFE_LAYER_ENTRY' });
      await expect(lstat(join(step.path, 'escaped'))).rejects.toMatchObject({ code: 'ENOENT' });
      expect((await readdir(step.path)).filter((name) => name.startsWith('.registry-image-'))).toEqual([]);

      // A whiteout of `..` would delete the step's directory itself.
      const climbing = withLayer(image, [{ path: '.wh..', body: '' }]);
      await registry.push(climbing, 'get/climbing', 'v1');
      const third = await dir();
      await expect(
        plugin.call('get', {
          source: source('get/climbing', { tag: 'v1' }),
          version: { digest: climbing.manifest.digest },
          directory: third.ref,
        }),
      ).rejects.toMatchObject({ code: 'REGISTRY_IMAGE_UNSAFE_LAYER_ENTRY' });
      expect(await readFile(join(third.path, 'digest'), 'utf8')).toBe(climbing.manifest.digest);

      // A link to an absolute host path is followed as the container would: inside rootfs.
      const linked = withLayer(
        withLayer(image, [{ path: 'evil', type: 'SymbolicLink', linkpath: outside }]),
        [{ path: 'evil/planted', body: 'contained\n' }],
      );
      await registry.push(linked, 'get/linked', 'v1');
      const second = await dir();
      await plugin.call('get', {
        source: source('get/linked', { tag: 'v1' }),
        version: { digest: linked.manifest.digest },
        directory: second.ref,
      });
      await expect(lstat(join(outside, 'planted'))).rejects.toMatchObject({ code: 'ENOENT' });
      expect(await readFile(join(second.path, 'rootfs', outside, 'planted'), 'utf8')).toBe('contained\n');
    });

    it('writes image.tar, an OCI layout whose manifest is the version, with format: oci', async () => {
      await registry.push(image, 'get/oci', 'v1');
      const step = await dir();
      await plugin.call('get', {
        source: source('get/oci', { tag: 'v1' }),
        version: { digest: image.manifest.digest },
        directory: step.ref,
        params: { format: 'oci' },
      });
      expect((await readdir(step.path)).sort()).toEqual(['digest', 'image.tar', 'repository', 'tag']);
      const unpacked = join(step.path, 'unpacked');
      await mkdir(unpacked);
      await tar.x({ file: join(step.path, 'image.tar'), cwd: unpacked });
      expect(JSON.parse(await readFile(join(unpacked, 'oci-layout'), 'utf8'))).toEqual({
        imageLayoutVersion: '1.0.0',
      });
      const index = JSON.parse(await readFile(join(unpacked, 'index.json'), 'utf8'));
      expect(index.manifests).toHaveLength(1);
      expect(index.manifests[0].digest).toBe(image.manifest.digest);
      expect(index.manifests[0].annotations['org.opencontainers.image.ref.name']).toBe('v1');
      for (const blob of [image.manifest, image.config, ...image.layers]) {
        const data = await readFile(join(unpacked, 'blobs/sha256', blob.digest.slice(7)));
        expect(sha256(data)).toBe(blob.digest);
      }
    });

    it('writes only repository, tag and digest with skip_download', async () => {
      const step = await dir();
      const digest = `sha256:${'0'.repeat(64)}`;
      await plugin.call('get', {
        source: source('get/nothing', { tag: 'v9' }),
        version: { digest },
        directory: step.ref,
        params: { skip_download: true },
      });
      expect((await readdir(step.path)).sort()).toEqual(['digest', 'repository', 'tag']);
      expect(await readFile(join(step.path, 'digest'), 'utf8')).toBe(digest);
    });
  });

  describe('put', () => {
    it('pushes an OCI layout tarball to the tag and the additional tags; check and get find it', async () => {
      const step = await dir();
      await mkdir(join(step.path, 'image'));
      await copyFile(image.tarball, join(step.path, 'image', 'image.tar'));
      await writeFile(join(step.path, 'image', 'tags'), 'v1.0 v1\n  edge\n');
      const src = source('put/app', { tag: 'main' });
      const { value, output } = await plugin.call('put', {
        source: src,
        directory: step.ref,
        params: { image: 'image/*.tar', additional_tags: 'image/tags' },
      });
      expect(value.version).toEqual({ digest: image.manifest.digest });
      expect(value.metadata).toEqual([
        { name: 'repository', value: `${registry.host}/put/app` },
        { name: 'tags', value: 'main v1.0 v1 edge' },
      ]);
      expect(output.some((o) => o.stream === 'log' && o.data.includes('pushing'))).toBe(true);
      for (const tag of ['main', 'v1.0', 'v1', 'edge']) {
        expect(await check({ ...src, tag })).toEqual([{ digest: image.manifest.digest }]);
      }

      const back = await dir();
      await plugin.call('get', {
        source: src,
        version: value.version,
        directory: back.ref,
        params: { format: 'oci' },
      });
      const listed: string[] = [];
      await tar.t({ file: join(back.path, 'image.tar'), onReadEntry: (e) => listed.push(e.path) });
      expect(listed).toContain(`blobs/sha256/${image.layers[0]?.digest.slice(7)}`);

      // Again: every blob is there already, and only the manifest is put.
      const again = await plugin.call('put', {
        source: src,
        directory: step.ref,
        params: { image: 'image/image.tar' },
      });
      expect(again.value.version).toEqual(value.version);
      expect(again.output.some((o) => o.stream === 'log' && o.data.includes('already in'))).toBe(true);
    });

    it('pushes a docker save tarball', async () => {
      const step = await dir();
      await rewriteTarball(image.tarball, join(step.path, 'saved.tar'), async (unpacked) => {
        await unlink(join(unpacked, 'index.json'));
        await unlink(join(unpacked, 'oci-layout'));
      });
      const src = source('put/saved', { tag: 'v1' });
      const { value } = await plugin.call('put', {
        source: src,
        directory: step.ref,
        params: { image: 'saved.tar' },
      });
      expect(await check(src)).toEqual([value.version]);
      const back = await dir();
      await plugin.call('get', { source: src, version: value.version, directory: back.ref });
      expect(await readFile(join(back.path, 'rootfs/etc/os-release'), 'utf8')).toContain(
        'ID=conveyor-busybox',
      );
    });

    it('pushes a multi-platform layout (an index of manifests), and a get picks this platform', async () => {
      const step = await dir();
      const layout = join(step.path, 'multi');
      await cp(image.layoutDir, layout, { recursive: true });
      const platformIndex = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: MEDIA_TYPES.index,
          manifests: [
            { ...descriptor(changed.manifest), platform: { os: 'linux', architecture: 'riscv-ish' } },
            { ...descriptor(image.manifest), platform: { os: 'linux', architecture: ociArchitecture() } },
          ],
        }),
      );
      // The other platform's image is in the layout too, as a multi-platform build writes it.
      for (const blob of [
        changed.manifest,
        changed.config,
        ...changed.layers,
        { digest: sha256(platformIndex), data: platformIndex },
      ]) {
        await writeFile(join(layout, 'blobs/sha256', blob.digest.slice(7)), blob.data);
      }
      await writeFile(
        join(layout, 'index.json'),
        JSON.stringify({
          schemaVersion: 2,
          manifests: [
            { mediaType: MEDIA_TYPES.index, digest: sha256(platformIndex), size: platformIndex.length },
          ],
        }),
      );
      const src = source('put/multi', { tag: 'v1' });
      const { value } = await plugin.call('put', {
        source: src,
        directory: step.ref,
        params: { image: 'multi' },
      });
      expect(value.version).toEqual({ digest: sha256(platformIndex) });
      expect(await check(src)).toEqual([value.version]);

      const back = await dir();
      await plugin.call('get', { source: src, version: value.version, directory: back.ref });
      expect(await readdir(join(back.path, 'rootfs/etc'))).not.toContain('motd');
      const other = await dir();
      await plugin.call('get', {
        source: { ...src, platform: { architecture: 'riscv-ish' } },
        version: value.version,
        directory: other.ref,
      });
      expect(await readFile(join(other.path, 'rootfs/etc/motd'), 'utf8')).toBe('a new version\n');
      const none = await dir();
      await expect(
        plugin.call('get', {
          source: { ...src, platform: { architecture: 's390x-ish' } },
          version: value.version,
          directory: none.ref,
        }),
      ).rejects.toMatchObject({
        code: 'REGISTRY_IMAGE_IMAGE_PLATFORM',
        message: expect.stringContaining('riscv-ish'),
      });
    });

    it('refuses a tarball with a tampered blob and tags nothing', async () => {
      const step = await dir();
      const layer = image.layers[0]?.digest as string;
      await rewriteTarball(image.tarball, join(step.path, 'tampered.tar'), (unpacked) =>
        tamperBlob(unpacked, layer),
      );
      const src = source('put/tampered', { tag: 'v1' });
      await expect(
        plugin.call('put', { source: src, directory: step.ref, params: { image: 'tampered.tar' } }),
      ).rejects.toMatchObject({
        code: 'REGISTRY_IMAGE_IMAGE_CORRUPT',
        message: expect.stringContaining(layer),
      });
      expect(await check(src)).toEqual([]);
    });

    it('says what is wrong when params.image matches nothing, or credentials are missing', async () => {
      const step = await dir();
      await expect(
        plugin.call('put', {
          source: source('put/none'),
          directory: step.ref,
          params: { image: 'image/*.tar' },
        }),
      ).rejects.toMatchObject({ code: 'REGISTRY_IMAGE_BAD_PARAMS' });
      await copyFile(image.tarball, join(step.path, 'image.tar'));
      await expect(
        plugin.call('put', {
          source: { repository: `${authRegistry.host}/private/pushed` },
          directory: step.ref,
          params: { image: 'image.tar' },
        }),
      ).rejects.toMatchObject({ code: 'REGISTRY_IMAGE_REGISTRY_UNAUTHORIZED' });
      const { value } = await plugin.call('put', {
        source: { repository: `${authRegistry.host}/private/pushed`, ...authRegistry.credentials },
        directory: step.ref,
        params: { image: 'image.tar' },
      });
      expect(value.version).toEqual({ digest: image.manifest.digest });
    });
  });
});
