import { rm } from 'node:fs/promises';
import { PluginError } from '@conveyor/plugin-api';
import {
  containerdUnavailable,
  startContainerd,
  type TestContainerd,
} from '@conveyor/test/harness/containerd.js';
import {
  dockerRegistryUnavailable,
  startDockerRegistry,
  type TestRegistry,
} from '@conveyor/test/harness/docker-registry.js';
import {
  buildBusyboxImage,
  busyboxUnavailable,
  imageScratch,
  type OciImage,
} from '@conveyor/test/harness/oci-images.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContainerdClient } from '../src/containerd-client.js';
import type { Image } from '../src/containerd-types.js';
import { contentInfo } from '../src/content.js';
import { ensureImage, statSnapshot } from '../src/images.js';
import { chainIds } from '../src/oci.js';
import { parseReference } from '../src/registry.js';

const unavailable = containerdUnavailable() ?? busyboxUnavailable() ?? dockerRegistryUnavailable();
const SNAPSHOTTER = 'overlayfs';

describe('image references', () => {
  it('are taken apart as Docker does', () => {
    expect(parseReference('busybox')).toEqual({
      host: 'docker.io',
      repository: 'library/busybox',
      tag: 'latest',
    });
    expect(parseReference('127.0.0.1:5000/team/app:v1')).toEqual({
      host: '127.0.0.1:5000',
      repository: 'team/app',
      tag: 'v1',
    });
    const digest = `sha256:${'a'.repeat(64)}`;
    expect(parseReference(`example.com/app@${digest}`)).toEqual({
      host: 'example.com',
      repository: 'app',
      digest,
    });
    expect(() => parseReference('UPPER/case')).toThrow(PluginError);
  });
});

describe.skipIf(unavailable !== undefined)('images in containerd', () => {
  let containerd: TestContainerd;
  let registry: TestRegistry;
  let scratch: string;
  let image: OciImage;
  let client: ContainerdClient;
  let leased: ContainerdClient;

  beforeAll(async () => {
    scratch = await imageScratch();
    image = await buildBusyboxImage(scratch);
    [containerd, registry] = await Promise.all([startContainerd(), startDockerRegistry({ auth: true })]);
    client = new ContainerdClient({ address: containerd.address, namespace: `images-test-${process.pid}` });
    await client.call('leases', 'Create', { id: 'images-test', labels: {} });
    leased = client.withLease('images-test');
  });

  afterAll(async () => {
    client?.close();
    await registry?.stop();
    await containerd?.stop();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  const options = () => ({
    snapshotter: SNAPSHOTTER,
    scratchDir: scratch,
    log: (line: string) => fetched.push(line),
  });
  let fetched: string[] = [];

  async function expectUnpacked(name: string, built: OciImage) {
    const { image: record } = await client.call<{ image: Image }>('images', 'Get', { name });
    expect(record.target.digest).toBe(built.manifest.digest);
    for (const blob of [built.manifest, built.config, ...built.layers])
      expect(await contentInfo(client, blob.digest)).toBeDefined();
    const [chainId] = chainIds(built.layers.map((l) => l.diffId));
    expect((await statSnapshot(client, SNAPSHOTTER, chainId as string))?.kind).toBe('COMMITTED');
  }

  it('imports an OCI layout directory and unpacks it into snapshots', async () => {
    fetched = [];
    const result = await ensureImage(
      leased,
      { reference: image.reference, layoutPath: image.layoutDir },
      options(),
    );
    expect(result.chainId).toBe(image.layers[0]?.diffId);
    expect(result.config.config?.Env?.[0]).toMatch(/^PATH=/);
    await expectUnpacked(result.name, image);
    expect(fetched).toHaveLength(1);

    // Unpacked already: resolved, not fetched again.
    fetched = [];
    await ensureImage(leased, { reference: image.reference, layoutPath: image.layoutDir }, options());
    expect(fetched).toEqual([]);
  });

  it('imports a tarball of a layout', async () => {
    const result = await ensureImage(
      leased,
      { reference: image.reference, layoutPath: image.tarball },
      options(),
    );
    await expectUnpacked(result.name, image);
  });

  it('says which images a layout has when the reference is not one of them', async () => {
    await expect(
      ensureImage(leased, { reference: 'busybox:nope', layoutPath: image.layoutDir }, options()),
    ).rejects.toMatchObject({ code: 'CONTAINERD_IMAGE_NOT_FOUND' });
  });

  it('pulls from a registry with credentials, and again only when the tag moves', async () => {
    await registry.push(image, 'team/busybox', 'stable');
    const reference = `${registry.host}/team/busybox:stable`;
    const credentials = { ...registry.credentials, insecure: true };

    await expect(ensureImage(leased, { reference, insecure: true }, options())).rejects.toMatchObject({
      code: 'CONTAINERD_REGISTRY_UNAUTHORIZED',
    });
    await expect(
      ensureImage(leased, { reference, insecure: true, username: 'conveyor', password: 'wrong' }, options()),
    ).rejects.toMatchObject({ code: 'CONTAINERD_REGISTRY_UNAUTHORIZED' });

    fetched = [];
    const first = await ensureImage(leased, { reference, ...credentials }, options());
    expect(first.name).toBe(reference);
    await expectUnpacked(reference, image);
    expect(fetched).toHaveLength(1);

    fetched = [];
    await ensureImage(leased, { reference, ...credentials }, options());
    expect(fetched).toEqual([]);

    const changed = await buildBusyboxImage(scratch, { files: { '/etc/motd': 'a new version\n' } });
    await registry.push(changed, 'team/busybox', 'stable');
    fetched = [];
    const second = await ensureImage(leased, { reference, ...credentials }, options());
    expect(fetched).toHaveLength(1);
    expect(second.chainId).toBe(changed.layers[0]?.diffId);
    expect(second.chainId).not.toBe(first.chainId);
    await expectUnpacked(reference, changed);

    // A build pinned the tag before it moved: `tag@digest` runs the pinned image, and the tag's
    // record stays at what the tag names now (no record is left per pinned digest).
    fetched = [];
    const pinned = await ensureImage(
      leased,
      { reference: `${reference}@${image.manifest.digest}`, ...credentials },
      options(),
    );
    expect(pinned.chainId).toBe(first.chainId);
    expect(pinned.target.digest).toBe(image.manifest.digest);
    expect(pinned.name).toBe(reference);
    await expectUnpacked(reference, changed);
    const { images } = await client.call<{ images: Image[] }>('images', 'List', {});
    expect(images.filter((record) => record.name.includes('@'))).toEqual([]);
    // Pinned to what the tag names now: the record's image, and the registry is not even asked
    // (credentials it would refuse go unused).
    fetched = [];
    const unasked = await ensureImage(
      leased,
      { reference: `${reference}@${changed.manifest.digest}`, ...credentials, password: 'wrong' },
      options(),
    );
    expect(unasked.chainId).toBe(second.chainId);
    expect(fetched).toEqual([]);
  });

  it('keeps pulled images once the lease that pulled them is gone', async () => {
    await client.call('leases', 'Delete', { id: 'images-test', sync: true });
    const [chainId] = chainIds(image.layers.map((l) => l.diffId));
    // The layout image's record still points at the first image: its snapshot survives GC.
    expect(await statSnapshot(client, SNAPSHOTTER, chainId as string)).toBeDefined();
    await client.call('leases', 'Create', { id: 'images-test', labels: {} });
  });
});
