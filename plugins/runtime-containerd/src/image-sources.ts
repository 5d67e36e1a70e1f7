import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { PluginError } from '@conveyor/plugin-api';
import * as tar from 'tar';
import { isIndex, isManifest, MEDIA, type OciDescriptor, type OciIndex, sha256 } from './oci.js';
import { canonicalName, parseReference, RegistryClient, type RegistryOptions } from './registry.js';

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

const REF_NAME = 'org.opencontainers.image.ref.name';
const CONTAINERD_NAME = 'io.containerd.image.name';

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
    await tar.x({ file: path, cwd: dir, strict: true, preservePaths: false });
    const source = await layoutSource(spec.reference, dir, path);
    return { ...source, close: () => rm(dir, { recursive: true, force: true }) };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    if (error instanceof PluginError) throw error;
    throw new PluginError(
      'CONTAINERD_IMAGE_CORRUPT',
      `cannot read the image tarball ${path}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
}

function registrySource(spec: OciImageSpec, signal?: AbortSignal): ImageSource {
  const ref = parseReference(spec.reference);
  const options: RegistryOptions = {
    username: spec.username,
    password: spec.password,
    insecure: spec.insecure,
    signal,
  };
  const registry = new RegistryClient(ref, options);
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
        : collect(await registry.blob(descriptor), descriptor),
    stream: (descriptor) => registry.blob(descriptor),
    close: async () => undefined,
  };
}

/**
 * An OCI image layout (oci-layout, index.json, blobs/sha256/). Without index.json, a `docker save`
 * archive's manifest.json is read instead and an OCI manifest made for it.
 */
async function layoutSource(reference: string, dir: string, origin: string): Promise<ImageSource> {
  const blobPath = (digest: string) => join(dir, 'blobs', 'sha256', digest.replace(/^sha256:/, ''));
  const made = new Map<string, Buffer>();
  const index = await readJson<OciIndex>(join(dir, 'index.json'));
  let top: OciDescriptor;
  if (index) {
    top = pickFromIndex(index, reference, origin);
  } else {
    const saved = await readJson<Array<{ Config: string; RepoTags?: string[]; Layers: string[] }>>(
      join(dir, 'manifest.json'),
    );
    if (!saved) {
      throw new PluginError(
        'CONTAINERD_IMAGE_CORRUPT',
        `${origin} is neither an OCI image layout (no index.json) nor a docker save archive (no manifest.json)`,
      );
    }
    top = await manifestForDockerSave(saved, reference, dir, origin, made);
  }
  // One name per layout and reference: two layouts may both hold a `busybox:latest`.
  const where = createHash('sha256').update(origin).digest('hex').slice(0, 16);
  return {
    name: `conveyor.local/layout/${where}/${reference}`,
    labels: { 'conveyor.source': 'oci-layout' },
    resolve: async () => top,
    read: async (descriptor) =>
      made.get(descriptor.digest) ?? readBlob(blobPath(descriptor.digest), descriptor, origin),
    stream: async (descriptor) => {
      const inMemory = made.get(descriptor.digest);
      if (inMemory) return inMemory;
      await readable(blobPath(descriptor.digest), descriptor, origin);
      return createReadStream(blobPath(descriptor.digest));
    },
    close: async () => undefined,
  };
}

function pickFromIndex(index: OciIndex, reference: string, origin: string): OciDescriptor {
  const tag = reference.includes('@') ? undefined : reference.slice(reference.lastIndexOf(':') + 1);
  const digest = reference.includes('@') ? reference.slice(reference.indexOf('@') + 1) : undefined;
  const matches = index.manifests.filter((m) => {
    const name = m.annotations?.[REF_NAME];
    const full = m.annotations?.[CONTAINERD_NAME];
    return (
      m.digest === digest ||
      name === reference ||
      (tag !== undefined && reference.includes(':') && name === tag) ||
      full === reference ||
      full?.endsWith(`/${reference}`) === true
    );
  });
  // A lone unnamed image is what the reference means; a lone image named otherwise is not.
  const only = index.manifests.length === 1 ? index.manifests[0] : undefined;
  const picked = matches[0] ?? (only && !only.annotations?.[REF_NAME] ? only : undefined);
  if (!picked) {
    const names = index.manifests.map((m) => m.annotations?.[REF_NAME]).filter(Boolean);
    throw new PluginError(
      'CONTAINERD_IMAGE_NOT_FOUND',
      `the OCI layout ${origin} has no image ${JSON.stringify(reference)} (it has ${names.length ? names.join(', ') : 'no named images'})`,
    );
  }
  return picked;
}

async function manifestForDockerSave(
  saved: Array<{ Config: string; RepoTags?: string[]; Layers: string[] }>,
  reference: string,
  dir: string,
  origin: string,
  made: Map<string, Buffer>,
): Promise<OciDescriptor> {
  const entry =
    saved.find((e) => e.RepoTags?.some((t) => t === reference || t.endsWith(`/${reference}`))) ??
    (saved.length === 1 ? saved[0] : undefined);
  if (!entry) {
    throw new PluginError(
      'CONTAINERD_IMAGE_NOT_FOUND',
      `the docker save archive ${origin} has no image ${JSON.stringify(reference)}`,
    );
  }
  const describe = async (file: string, mediaType: string): Promise<OciDescriptor> => {
    const data = await readFile(join(dir, file));
    const digest = sha256(data);
    // Layers of older archives are plain tars whose digest is not their name: keep them by digest.
    made.set(digest, data);
    return { mediaType, digest, size: data.length };
  };
  const config = await describe(entry.Config, MEDIA.ociConfig);
  const layers: OciDescriptor[] = [];
  for (const file of entry.Layers) {
    const head = await readFile(join(dir, file)).then((b) => b.subarray(0, 2));
    layers.push(
      await describe(file, head[0] === 0x1f && head[1] === 0x8b ? MEDIA.ociLayerGzip : MEDIA.ociLayer),
    );
  }
  const manifest = Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.ociManifest, config, layers }),
  );
  const descriptor = { mediaType: MEDIA.ociManifest, digest: sha256(manifest), size: manifest.length };
  made.set(descriptor.digest, manifest);
  return descriptor;
}

async function readJson<T>(path: string): Promise<T | undefined> {
  const text = await readFile(path, 'utf8').catch(() => undefined);
  return text === undefined ? undefined : (JSON.parse(text) as T);
}

async function readable(path: string, descriptor: OciDescriptor, origin: string): Promise<void> {
  const stats = await stat(path).catch(() => undefined);
  if (!stats?.isFile()) {
    throw new PluginError(
      'CONTAINERD_IMAGE_CORRUPT',
      `the OCI layout ${origin} lacks the blob ${descriptor.digest}`,
    );
  }
}

async function readBlob(path: string, descriptor: OciDescriptor, origin: string): Promise<Buffer> {
  await readable(path, descriptor, origin);
  const data = await readFile(path);
  if (sha256(data) !== descriptor.digest) {
    throw new PluginError(
      'CONTAINERD_IMAGE_CORRUPT',
      `the blob ${descriptor.digest} of ${origin} does not match its digest`,
    );
  }
  return data;
}

async function collect(source: AsyncIterable<Uint8Array>, descriptor: OciDescriptor): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of source) chunks.push(chunk);
  const data = Buffer.concat(chunks);
  if (sha256(data) !== descriptor.digest) {
    throw new PluginError(
      'CONTAINERD_IMAGE_CORRUPT',
      `the blob ${descriptor.digest} arrived with another digest`,
    );
  }
  return data;
}
