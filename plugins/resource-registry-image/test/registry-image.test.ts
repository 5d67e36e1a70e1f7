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
      await expect(check(source('check/app', { tag_regex: 'v.*' }))).rejects.toMatchObject({
        code: 'REGISTRY_IMAGE_UNSUPPORTED_FEATURE',
      });
      await expect(
        check(source('check/app', { aws_region: 'eu-west-1', debug: true })),
      ).resolves.toBeDefined();
      await expect(check(source('check/app', { tagg: 'v1' }))).rejects.toMatchObject({
        code: 'CONFORMANCE_BAD_REQUEST',
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
