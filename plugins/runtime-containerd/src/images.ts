import { randomBytes } from 'node:crypto';
import { PluginError } from '@conveyor/plugin-api';
import {
  isIndex,
  isManifest,
  type OciDescriptor,
  type OciImageConfig,
  type OciIndex,
  type OciManifest,
  pickManifest,
} from '@conveyor/plugin-api/oci';
import { type ContainerdClient, ignoreNotFound, isAlreadyExists, isNotFound } from './containerd-client.js';
import type { Descriptor, Image, Mount, SnapshotInfo } from './containerd-types.js';
import { contentInfo, labelContent, readContent, writeContent } from './content.js';
import { type ImageSource, type OciImageSpec, openImageSource } from './image-sources.js';
import { chainIds } from './oci.js';

/** An image ready to run: its layers unpacked into committed snapshots. */
export interface UnpackedImage {
  /** The name containerd keeps it under. */
  name: string;
  /** What the reference resolved to (a manifest, or the index above it). */
  target: OciDescriptor;
  config: OciImageConfig;
  configDigest: string;
  /** The chain id of the top layer: the committed snapshot a container's rootfs starts from. */
  chainId: string;
}

export interface EnsureImageOptions {
  snapshotter: string;
  /** Where a tarball is unpacked while it is imported. */
  scratchDir: string;
  signal?: AbortSignal | undefined;
  log?: ((line: string) => void) | undefined;
}

/** containerd's garbage-collection labels: a blob keeps what its labels name alive. */
const GC_CONTENT = 'containerd.io/gc.ref.content';
const GC_SNAPSHOT = 'containerd.io/gc.ref.snapshot';
const UNCOMPRESSED = 'containerd.io/uncompressed';

/**
 * Make sure an OCI image is in containerd and unpacked, as containerd's own client does on pull:
 * blobs through the content service (each checked against its digest), the image record, and each
 * layer applied onto a snapshot of the one below and committed under its chain id. An image that is
 * already unpacked is not fetched again: only the reference is resolved (one HEAD for a tag), and
 * the blobs are fetched only when it points somewhere new. Call it with a leased client, so the
 * garbage collector leaves the pull alone until the image record holds it.
 */
export async function ensureImage(
  client: ContainerdClient,
  spec: OciImageSpec,
  options: EnsureImageOptions,
): Promise<UnpackedImage> {
  const source = await openImageSource(spec, options.scratchDir, options.signal);
  try {
    const existing = await ignoreNotFound(
      client.call<{ image: Image }>('images', 'Get', { name: source.name }),
    );
    // A digest does not move: when the record is already at it, the registry need not be asked
    // (a build's pinned containers start without a round trip, and while the registry is down).
    const recorded = existing?.image.target;
    const target =
      recorded && source.digest !== undefined && recorded.digest === source.digest
        ? { mediaType: recorded.media_type, digest: recorded.digest, size: Number(recorded.size) }
        : await source.resolve();
    if (existing?.image.target.digest === target.digest) {
      const cached = await unpackedFromStore(client, target, options.snapshotter);
      if (cached) return { name: source.name, ...cached };
    }
    options.log?.(`fetching ${spec.reference} (${target.digest})`);
    const { config, configDigest, chainId } = await fetchAndUnpack(client, source, target, options);
    if (source.pinned && existing && existing.image.target.digest !== target.digest) {
      // The tag has moved on since a build pinned it: its record stays the tag's, and the lease
      // of the container being made holds this version for as long as the container lives.
      return { name: source.name, target, config, configDigest, chainId };
    }
    const image = {
      name: source.name,
      labels: source.labels,
      target: toDescriptor(target),
    };
    try {
      await client.call('images', 'Create', { image });
    } catch (error) {
      if (!isAlreadyExists(error)) throw error;
      await client.call('images', 'Update', { image });
    }
    return { name: source.name, target, config, configDigest, chainId };
  } finally {
    await source.close();
  }
}

/** The config and top snapshot of an image already in the store, if all of it is still there. */
async function unpackedFromStore(
  client: ContainerdClient,
  target: OciDescriptor,
  snapshotter: string,
): Promise<
  { target: OciDescriptor; config: OciImageConfig; configDigest: string; chainId: string } | undefined
> {
  try {
    let manifestDescriptor = target;
    while (isIndex(manifestDescriptor.mediaType)) {
      const index = JSON.parse(
        (await readContent(client, manifestDescriptor.digest)).toString('utf8'),
      ) as OciIndex;
      const picked = pickManifest(index);
      if (!picked) return undefined;
      manifestDescriptor = picked;
    }
    const manifest = JSON.parse(
      (await readContent(client, manifestDescriptor.digest)).toString('utf8'),
    ) as OciManifest;
    const config = JSON.parse(
      (await readContent(client, manifest.config.digest)).toString('utf8'),
    ) as OciImageConfig;
    const chainId = chainIds(config.rootfs.diff_ids).at(-1);
    if (!chainId || !(await statSnapshot(client, snapshotter, chainId))) return undefined;
    return { target, config, configDigest: manifest.config.digest, chainId };
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

async function fetchAndUnpack(
  client: ContainerdClient,
  source: ImageSource,
  target: OciDescriptor,
  options: EnsureImageOptions,
): Promise<{ config: OciImageConfig; configDigest: string; chainId: string }> {
  // 1. Walk down from the target to this platform's manifest, storing each index on the way.
  let descriptor = target;
  while (isIndex(descriptor.mediaType)) {
    const data = await source.read(descriptor);
    const index = JSON.parse(data.toString('utf8')) as OciIndex;
    const labels = Object.fromEntries(index.manifests.map((m, i) => [`${GC_CONTENT}.m.${i}`, m.digest]));
    await writeContent(client, descriptor, data, labels);
    const picked = pickManifest(index);
    if (!picked) {
      throw new PluginError(
        'CONTAINERD_IMAGE_PLATFORM',
        `${source.name} has no image for linux/${process.arch} (platforms: ${index.manifests.map((m) => `${m.platform?.os}/${m.platform?.architecture}`).join(', ')})`,
      );
    }
    descriptor = picked;
  }
  if (!isManifest(descriptor.mediaType)) {
    throw new PluginError(
      'CONTAINERD_IMAGE_UNSUPPORTED',
      `${source.name} points at ${descriptor.mediaType}, which is not an image manifest`,
    );
  }

  // 2. The manifest and its config; the labels tie them together for the garbage collector.
  const manifestData = await source.read(descriptor);
  const manifest = JSON.parse(manifestData.toString('utf8')) as OciManifest;
  const configData = await source.read(manifest.config);
  const config = JSON.parse(configData.toString('utf8')) as OciImageConfig;
  const diffIds = config.rootfs?.diff_ids ?? [];
  if (diffIds.length !== manifest.layers.length) {
    throw new PluginError(
      'CONTAINERD_IMAGE_CORRUPT',
      `${source.name}: the manifest has ${manifest.layers.length} layers, the config ${diffIds.length} diff ids`,
    );
  }
  const chain = chainIds(diffIds);
  const chainId = chain.at(-1);
  if (!chainId) throw new PluginError('CONTAINERD_IMAGE_CORRUPT', `${source.name} has no layers`);

  // 3. Layers not yet unpacked are fetched and applied, bottom up.
  let parent = '';
  for (const [i, layer] of manifest.layers.entries()) {
    const layerChain = chain[i] as string;
    const diffId = diffIds[i] as string;
    if (!(await statSnapshot(client, options.snapshotter, layerChain))) {
      if (!(await contentInfo(client, layer.digest)))
        await writeContent(client, layer, await source.stream(layer), { [UNCOMPRESSED]: diffId });
      await applyLayer(client, options.snapshotter, layer, diffId, parent, layerChain, source.name);
    }
    parent = layerChain;
  }

  await writeContent(client, manifest.config, configData, {
    [`${GC_SNAPSHOT}.${options.snapshotter}`]: chainId,
  });
  const manifestLabels: Record<string, string> = { [`${GC_CONTENT}.config`]: manifest.config.digest };
  for (const [i, layer] of manifest.layers.entries()) manifestLabels[`${GC_CONTENT}.l.${i}`] = layer.digest;
  await writeContent(client, descriptor, manifestData, manifestLabels);
  return { config, configDigest: manifest.config.digest, chainId };
}

/** Prepare a snapshot on the parent chain, apply the layer onto it, commit it under its chain id. */
async function applyLayer(
  client: ContainerdClient,
  snapshotter: string,
  layer: OciDescriptor,
  diffId: string,
  parent: string,
  chainId: string,
  imageName: string,
): Promise<void> {
  const key = `conveyor-extract-${randomBytes(6).toString('hex')}-${chainId}`;
  const { mounts } = await client.call<{ mounts: Mount[] }>('snapshots', 'Prepare', {
    snapshotter,
    key,
    parent,
  });
  let committed = false;
  try {
    const { applied } = await client.call<{ applied: Descriptor }>('diff', 'Apply', {
      diff: toDescriptor(layer),
      mounts,
    });
    if (applied.digest !== diffId) {
      throw new PluginError(
        'CONTAINERD_IMAGE_CORRUPT',
        `${imageName}: layer ${layer.digest} unpacks to ${applied.digest}, but the config says ${diffId}`,
      );
    }
    try {
      await client.call('snapshots', 'Commit', { snapshotter, name: chainId, key });
      committed = true;
    } catch (error) {
      // Another pull committed the same layer first: theirs is as good as ours.
      if (!isAlreadyExists(error)) throw error;
    }
    await labelContent(client, layer.digest, { [UNCOMPRESSED]: diffId });
  } finally {
    if (!committed) await ignoreNotFound(client.call('snapshots', 'Remove', { snapshotter, key }));
  }
}

export async function statSnapshot(
  client: ContainerdClient,
  snapshotter: string,
  key: string,
): Promise<SnapshotInfo | undefined> {
  const response = await ignoreNotFound(
    client.call<{ info: SnapshotInfo }>('snapshots', 'Stat', { snapshotter, key }),
  );
  return response?.info;
}

function toDescriptor(descriptor: OciDescriptor): Descriptor {
  return {
    media_type: descriptor.mediaType,
    digest: descriptor.digest,
    size: descriptor.size,
    annotations: descriptor.annotations ?? {},
  };
}
