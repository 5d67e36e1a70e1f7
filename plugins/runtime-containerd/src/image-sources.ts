import { createHash, randomBytes } from 'node:crypto';
import { mkdir, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { PluginError } from '@conveyor/plugin-api';
import {
  CONTAINERD_NAME_ANNOTATION,
  canonicalName,
  extractImageArchive,
  type ImageLayout,
  isIndex,
  isManifest,
  type OciDescriptor,
  openImageLayout,
  REF_NAME_ANNOTATION,
} from '@conveyor/plugin-api/oci';
import { CODE_PREFIX, parseReference, registryClient } from './registry.js';

/** Where an image's blobs come from: a registry, an OCI layout directory, or a tarball of one. */
export interface ImageSource {
  /** The name containerd keeps the image under. */
  readonly name: string;
  /**
   * The reference names a tag and the digest it must be at (`repo:tag@sha256:…`, a build's pin):
   * `name` is the tag's, and its record is left alone once the tag has moved on.
   */
  readonly pinned?: boolean;
  /** The digest the reference names itself (`…@sha256:…`): what it resolves to, unasked. */
  readonly digest?: string;
  /** Labels for the image record, saying where it came from. */
  readonly labels: Record<string, string>;
  /** The manifest (or index) the reference points at now. */
  resolve(): Promise<OciDescriptor>;
  /** A small blob (a manifest, an index, a config), whole. */
  read(descriptor: OciDescriptor): Promise<Buffer>;
  /** A blob as it arrives (a layer). */
  stream(descriptor: OciDescriptor): Promise<AsyncIterable<Uint8Array> | Uint8Array>;
  close(): Promise<void>;
}

export interface OciImageSpec {
  reference: string;
  layoutPath?: string | undefined;
  username?: string | undefined;
  password?: string | undefined;
  insecure?: boolean | undefined;
}

/** Pick the source for an image spec; a tarball is unpacked into `scratchDir` until close(). */
export async function openImageSource(
  spec: OciImageSpec,
  scratchDir: string,
  signal?: AbortSignal,
): Promise<ImageSource> {
  if (spec.layoutPath === undefined) return registrySource(spec, signal);
  const path = resolve(spec.layoutPath);
  const stats = await stat(path).catch(() => undefined);
  if (!stats) {
    throw new PluginError(
      'CONTAINERD_IMAGE_NOT_FOUND',
      `the OCI layout ${path} for ${spec.reference} does not exist; was its volume destroyed?`,
    );
  }
  if (stats.isDirectory()) return layoutSource(spec.reference, path, path);
  const dir = join(scratchDir, `import-${randomBytes(6).toString('hex')}`);
  await mkdir(dir, { recursive: true });
  try {
    await extractImageArchive(path, dir, CODE_PREFIX);
    const source = await layoutSource(spec.reference, dir, path);
    return { ...source, close: () => rm(dir, { recursive: true, force: true }) };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

function registrySource(spec: OciImageSpec, signal?: AbortSignal): ImageSource {
  const ref = parseReference(spec.reference);
  const registry = registryClient(ref, {
    username: spec.username,
    password: spec.password,
    insecure: spec.insecure,
    signal,
  });
  const pinned = ref.tag !== undefined && ref.digest !== undefined;
  return {
    // A pin is kept under its tag's name, not one record per digest a build ever pinned: records
    // hold their content against containerd's collector for good.
    name: canonicalName(pinned ? { host: ref.host, repository: ref.repository, tag: ref.tag } : ref),
    ...(pinned ? { pinned } : {}),
    ...(ref.digest ? { digest: ref.digest } : {}),
    labels: { 'conveyor.source': 'registry' },
    resolve: () => registry.resolve(),
    read: async (descriptor) =>
      isIndex(descriptor.mediaType) || isManifest(descriptor.mediaType)
        ? (await registry.manifest(descriptor.digest)).data
        : registry.readBlob(descriptor),
    stream: (descriptor) => registry.blob(descriptor),
    close: async () => undefined,
  };
}

/** An OCI image layout, or a `docker save` archive read as one (@conveyor/plugin-api/oci). */
async function layoutSource(reference: string, dir: string, origin: string): Promise<ImageSource> {
  const layout = await openImageLayout(dir, { codePrefix: CODE_PREFIX, origin });
  const top = pickFromIndex(layout, reference);
  // One name per layout and reference: two layouts may both hold a `busybox:latest`.
  const where = createHash('sha256').update(origin).digest('hex').slice(0, 16);
  return {
    name: `conveyor.local/layout/${where}/${reference}`,
    labels: { 'conveyor.source': 'oci-layout' },
    resolve: async () => top,
    read: (descriptor) => layout.read(descriptor),
    stream: (descriptor) => layout.stream(descriptor),
    close: async () => undefined,
  };
}

function pickFromIndex({ index, origin }: ImageLayout, reference: string): OciDescriptor {
  const tag = reference.includes('@') ? undefined : reference.slice(reference.lastIndexOf(':') + 1);
  const digest = reference.includes('@') ? reference.slice(reference.indexOf('@') + 1) : undefined;
  const matches = index.manifests.filter((m) => {
    const name = m.annotations?.[REF_NAME_ANNOTATION];
    const full = m.annotations?.[CONTAINERD_NAME_ANNOTATION];
    return (
      m.digest === digest ||
      name === reference ||
      (tag !== undefined && reference.includes(':') && name === tag) ||
      full === reference ||
      full?.endsWith(`/${reference}`) === true
    );
  });
  // A lone unnamed image is what the reference means; a lone image named otherwise is not. (A
  // docker save archive has an entry per tag of one image: that is still a lone image.)
  const only = new Set(index.manifests.map((m) => m.digest)).size === 1 ? index.manifests[0] : undefined;
  const picked = matches[0] ?? (only && !only.annotations?.[REF_NAME_ANNOTATION] ? only : undefined);
  if (!picked) {
    const names = index.manifests.map((m) => m.annotations?.[REF_NAME_ANNOTATION]).filter(Boolean);
    throw new PluginError(
      'CONTAINERD_IMAGE_NOT_FOUND',
      `the OCI layout ${origin} has no image ${JSON.stringify(reference)} (it has ${names.length ? names.join(', ') : 'no named images'})`,
    );
  }
  return picked;
}
