/** The shared OCI kit: references, platform picking, image layouts on disk, and the registry client. */
import { mkdir, mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  MEDIA,
  ociArchitecture,
  openImageLayout,
  parseReference,
  pickManifest,
  RegistryClient,
  sha256,
} from '@conveyor/plugin-api/oci';
import {
  dockerRegistryUnavailable,
  startDockerRegistry,
  type TestRegistry,
} from '@conveyor/test/harness/docker-registry.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

describe('image references', () => {
  it('carry the caller’s code prefix in their errors', () => {
    expect(parseReference('ghcr.io/org/app:v1', 'X')).toEqual({
      host: 'ghcr.io',
      repository: 'org/app',
      tag: 'v1',
    });
    expect(parseReference('alpine', 'X')).toEqual({
      host: 'docker.io',
      repository: 'library/alpine',
      tag: 'latest',
    });
    expect(() => parseReference('Bad/Name', 'MY_PLUGIN')).toThrow(
      expect.objectContaining({ code: 'MY_PLUGIN_BAD_IMAGE_REFERENCE' }),
    );
  });
});

describe('pickManifest', () => {
  const digest = (n: number) => `sha256:${String(n).repeat(64)}`;
  const index = {
    schemaVersion: 2,
    manifests: [
      {
        mediaType: MEDIA.ociManifest,
        digest: digest(1),
        size: 1,
        platform: { os: 'linux', architecture: 'arm', variant: 'v6' },
      },
      {
        mediaType: MEDIA.ociManifest,
        digest: digest(2),
        size: 1,
        platform: { os: 'linux', architecture: 'arm', variant: 'v7' },
      },
      {
        mediaType: MEDIA.ociManifest,
        digest: digest(3),
        size: 1,
        platform: { os: 'linux', architecture: ociArchitecture() },
      },
    ],
  };
  it('takes this machine’s platform by default, or the one asked for', () => {
    expect(pickManifest(index)?.digest).toBe(digest(3));
    expect(pickManifest(index, { architecture: 'arm', variant: 'v7' })?.digest).toBe(digest(2));
    expect(pickManifest(index, { architecture: 'arm' })?.digest).toBe(digest(1));
    expect(pickManifest(index, { os: 'windows' })).toBeUndefined();
  });
});

describe('image layouts', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'oci-layout-test-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('read a docker save archive as an index with an entry per tag', async () => {
    const saved = join(dir, 'saved');
    await mkdir(join(saved, 'layer1'), { recursive: true });
    const config = Buffer.from('{"rootfs":{"type":"layers","diff_ids":[]}}');
    await writeFile(join(saved, 'config.json'), config);
    await writeFile(join(saved, 'layer1', 'layer.tar'), Buffer.alloc(1024));
    await writeFile(
      join(saved, 'manifest.json'),
      JSON.stringify([
        { Config: 'config.json', RepoTags: ['app:v1', 'app:latest'], Layers: ['layer1/layer.tar'] },
      ]),
    );
    const layout = await openImageLayout(saved, { codePrefix: 'T' });
    expect(layout.index.manifests.map((m) => m.annotations?.['io.containerd.image.name'])).toEqual([
      'app:v1',
      'app:latest',
    ]);
    const [top] = layout.index.manifests;
    const manifest = JSON.parse((await layout.read(top as never)).toString('utf8'));
    expect(manifest.config).toEqual({
      mediaType: MEDIA.ociConfig,
      digest: sha256(config),
      size: config.length,
    });
    expect(manifest.layers[0]).toMatchObject({
      mediaType: MEDIA.ociLayer,
      digest: sha256(Buffer.alloc(1024)),
    });
    await layout.verify(manifest.layers[0]);
  });

  it('refuse paths outside the layout, symbolic links, and blobs that do not match', async () => {
    const escaping = join(dir, 'escaping');
    await mkdir(escaping);
    await writeFile(join(escaping, 'manifest.json'), JSON.stringify([{ Config: '../secret', Layers: [] }]));
    await expect(openImageLayout(escaping, { codePrefix: 'T' })).rejects.toMatchObject({
      code: 'T_IMAGE_CORRUPT',
    });

    const linked = join(dir, 'linked');
    await mkdir(join(linked, 'blobs', 'sha256'), { recursive: true });
    const digest = sha256('anything');
    await symlink('/etc/hostname', join(linked, 'blobs', 'sha256', digest.slice(7)));
    await writeFile(join(linked, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [] }));
    const layout = await openImageLayout(linked, { codePrefix: 'T' });
    const descriptor = { mediaType: MEDIA.ociLayer, digest, size: 8 };
    await expect(layout.read(descriptor)).rejects.toMatchObject({ code: 'T_IMAGE_CORRUPT' });
    await expect(layout.read({ ...descriptor, digest: 'sha256:../../x' })).rejects.toMatchObject({
      code: 'T_IMAGE_CORRUPT',
    });

    await rm(join(linked, 'blobs', 'sha256', digest.slice(7)));
    await writeFile(join(linked, 'blobs', 'sha256', digest.slice(7)), 'something else');
    await expect(layout.verify(descriptor)).rejects.toMatchObject({ code: 'T_IMAGE_CORRUPT' });
  });
});

const unavailable = dockerRegistryUnavailable();

describe.skipIf(unavailable !== undefined)('RegistryClient against Distribution', () => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startDockerRegistry({ auth: true });
  });
  afterAll(async () => {
    await registry?.stop();
  });

  const client = (repository: string, credentials = registry.credentials) =>
    new RegistryClient(parseReference(`${registry.host}/${repository}:v1`, 'T'), {
      codePrefix: 'T',
      insecure: true,
      ...credentials,
    });

  it('pushes blobs and a manifest, then resolves and pulls them with their digests checked', async () => {
    const pusher = client('kit/app');
    const config = Buffer.from('{"rootfs":{"type":"layers","diff_ids":[]}}');
    const layer = Buffer.from('not really a tar, but a blob');
    const configDescriptor = { mediaType: MEDIA.ociConfig, digest: sha256(config), size: config.length };
    const layerDescriptor = { mediaType: MEDIA.ociLayer, digest: sha256(layer), size: layer.length };
    expect(await pusher.hasBlob(layerDescriptor.digest)).toBe(false);
    await pusher.pushBlob(configDescriptor, () => config);
    // A stream body, made again after the registry's authentication challenge.
    await pusher.pushBlob(layerDescriptor, async function* () {
      yield layer.subarray(0, 5);
      yield layer.subarray(5);
    });
    expect(await pusher.hasBlob(layerDescriptor.digest)).toBe(true);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MEDIA.ociManifest,
        config: configDescriptor,
        layers: [layerDescriptor],
      }),
    );
    expect(await pusher.pushManifest('v1', MEDIA.ociManifest, manifest)).toBe(sha256(manifest));

    const puller = client('kit/app');
    expect(await puller.resolve()).toEqual({
      mediaType: MEDIA.ociManifest,
      digest: sha256(manifest),
      size: manifest.length,
    });
    expect((await puller.manifest(sha256(manifest))).data).toEqual(manifest);
    expect(await puller.readBlob(layerDescriptor)).toEqual(layer);
    expect(await puller.hasManifest(sha256(manifest))).toBe(true);
    expect(await puller.hasManifest('v2')).toBe(false);
    await expect(puller.resolve('v2')).rejects.toMatchObject({ code: 'T_IMAGE_NOT_FOUND' });
    // A descriptor that lies about the size: the download is refused and its file removed.
    const file = join(tmpdir(), `oci-test-blob-${process.pid}`);
    await expect(puller.blobToFile({ ...layerDescriptor, size: 3 }, file)).rejects.toMatchObject({
      code: 'T_IMAGE_CORRUPT',
    });
    await expect(stat(file)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('lists tags, and says when the repository does not exist or the credentials are wrong', async () => {
    const pusher = client('kit/tags');
    const config = Buffer.from('{"rootfs":{"type":"layers","diff_ids":[]}}');
    const configDescriptor = { mediaType: MEDIA.ociConfig, digest: sha256(config), size: config.length };
    await pusher.pushBlob(configDescriptor, () => config);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MEDIA.ociManifest,
        config: configDescriptor,
        layers: [],
      }),
    );
    const pushed = ['1.0.0', '1.10.0', '1.2.0', '2.0.0', 'latest'];
    for (const tag of pushed) await pusher.pushManifest(tag, MEDIA.ociManifest, manifest);

    const lister = client('kit/tags');
    // Distribution 2.8 lists tags in its storage's order and ignores `?n=`: pages and their `Link`
    // are exercised through a paging front in plugins/resource-registry-image's tests.
    expect((await lister.tags()).sort()).toEqual([...pushed].sort());
    expect((await lister.tags({ pageSize: 2 })).sort()).toEqual([...pushed].sort());
    await expect(lister.tags({ pageSize: 0 })).rejects.toThrow('options.pageSize must be a positive integer');
    await expect(client('kit/never-pushed').tags()).rejects.toMatchObject({ code: 'T_IMAGE_NOT_FOUND' });
    await expect(
      client('kit/tags', { username: 'conveyor', password: 'wrong' }).tags(),
    ).rejects.toMatchObject({ code: 'T_REGISTRY_UNAUTHORIZED' });
  });

  it('refuses a blob whose bytes are not its digest, and bad credentials, without naming them', async () => {
    const pusher = client('kit/bad');
    await expect(
      pusher.pushBlob({ mediaType: MEDIA.ociLayer, digest: sha256('one thing'), size: 7 }, () =>
        Buffer.from('another'),
      ),
    ).rejects.toMatchObject({ code: 'T_IMAGE_CORRUPT' });
    const wrong = client('kit/app', { username: 'conveyor', password: 'secret-that-must-not-leak' });
    const failure = await wrong.resolve().catch((error: Error) => error);
    expect(failure).toMatchObject({ code: 'T_REGISTRY_UNAUTHORIZED' });
    expect((failure as Error).message).not.toContain('secret-that-must-not-leak');
  });
});
