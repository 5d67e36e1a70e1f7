import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseReference, RegistryClient } from '@conveyor/plugin-api/oci';
import { type RunningRegistry, startRegistryMirror } from '@conveyor/registry-mirror';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const PUSHER = 'pusher-token-for-oci-client';

const sha256 = (data: Uint8Array) => `sha256:${createHash('sha256').update(data).digest('hex')}`;
const descriptor = (mediaType: string, data: Uint8Array) => ({
  mediaType,
  digest: sha256(data),
  size: data.length,
});

/**
 * The shared OCI client (`@conveyor/plugin-api/oci`, what the containerd runtime and the
 * registry-image resource use) through Distribution's Bearer token flow: registry-mirror plays
 * the token server (`WWW-Authenticate: Bearer realm=…/token,service=…,scope=…`), as Docker Hub
 * and most hosted registries do; Debian's docker-registry offers only Basic auth.
 */
describe('the shared OCI client against registry-mirror: Bearer token auth, paged tag lists', () => {
  let root: string;
  let registry: RunningRegistry;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'conveyor-oci-bearer-'));
    registry = await startRegistryMirror({
      root,
      port: 0,
      auth: {
        scheme: 'bearer',
        anonymous: 'none',
        tokens: [
          { name: 'pusher', token: PUSHER, access: [{ repository: 'team/*', actions: ['push', 'pull'] }] },
        ],
      },
    });
  });

  afterAll(async () => {
    await registry?.close();
    if (root) await rm(root, { recursive: true, force: true });
  });

  const client = (repository: string, password: string | undefined) =>
    new RegistryClient(parseReference(`${registry.host}/${repository}:v1`, 'TEST'), {
      codePrefix: 'TEST',
      insecure: true,
      ...(password === undefined ? {} : { username: 'ci', password }),
    });

  it('pushes and pulls with a token it fetched from the realm the challenge named', async () => {
    const layer = randomBytes(4096);
    const config = Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        rootfs: { type: 'layers', diff_ids: [sha256(layer)] },
      }),
    );
    const layerDescriptor = descriptor('application/vnd.oci.image.layer.v1.tar', layer);
    const configDescriptor = descriptor('application/vnd.oci.image.config.v1+json', config);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: configDescriptor,
        layers: [layerDescriptor],
      }),
    );

    const pusher = client('team/app', PUSHER);
    expect(await pusher.hasBlob(layerDescriptor.digest)).toBe(false);
    await pusher.pushBlob(layerDescriptor, () => layer);
    await pusher.pushBlob(configDescriptor, () => config);
    const digest = await pusher.pushManifest('v1', 'application/vnd.oci.image.manifest.v1+json', manifest);
    expect(digest).toBe(sha256(manifest));

    const puller = client('team/app', PUSHER);
    expect((await puller.resolve()).digest).toBe(sha256(manifest));
    expect((await puller.readBlob(layerDescriptor)).equals(layer)).toBe(true);
  });

  it('lists tags a page at a time, following the Link of each page to the next', async () => {
    const config = Buffer.from('{}');
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: descriptor('application/vnd.oci.image.config.v1+json', config),
        layers: [],
      }),
    );
    const pusher = client('team/paged', PUSHER);
    await pusher.pushBlob(descriptor('application/vnd.oci.image.config.v1+json', config), () => config);
    const tags = ['1.0.0', '1.10.0', '1.2.0', '2.0.0', 'latest', 'nightly', 'v1'];
    for (const tag of tags) {
      await pusher.pushManifest(tag, 'application/vnd.oci.image.manifest.v1+json', manifest);
    }
    // registry-mirror answers `n` tags a page with a `Link` to the next, as the spec says.
    expect(await pusher.tags({ pageSize: 2 })).toEqual([...tags].sort());
    expect(await pusher.tags({ pageSize: 100 })).toEqual([...tags].sort());
    expect(await pusher.tags()).toEqual([...tags].sort());
  });

  it('is refused, with the caller’s code, without credentials or with a wrong token', async () => {
    await expect(client('team/app', undefined).resolve()).rejects.toMatchObject({
      code: 'TEST_REGISTRY_UNAUTHORIZED',
    });
    await expect(client('team/app', 'not-the-token').resolve()).rejects.toMatchObject({
      code: 'TEST_REGISTRY_UNAUTHORIZED',
    });
    // A repository the token has no grant on: the token server hands out nothing for it.
    await expect(client('other/app', PUSHER).resolve()).rejects.toMatchObject({
      code: 'TEST_REGISTRY_UNAUTHORIZED',
    });
  });
});
