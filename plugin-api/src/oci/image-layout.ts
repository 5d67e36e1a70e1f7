import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readFile } from 'node:fs/promises';
import { join, posix, resolve, sep } from 'node:path';
import * as tar from 'tar';
import { ociError } from './errors.js';
import {
  CONTAINERD_NAME_ANNOTATION,
  isDigest,
  MEDIA,
  type OciDescriptor,
  type OciIndex,
  sha256,
} from './media.js';

/**
 * An image layout on disk: an OCI image layout (oci-layout, index.json, blobs/sha256/), or a
 * `docker save` archive (manifest.json) read as one. Blobs are read by descriptor; a path named by
 * a manifest never leaves the directory, and only regular files are read (a symbolic link in an
 * archive could otherwise hand out any file of the host).
 */
export interface ImageLayout {
  readonly dir: string;
  /** What the layout came from (a directory, or the tarball it was unpacked from), for messages. */
  readonly origin: string;
  /**
   * index.json; for a docker save archive, one made from its manifest.json: an entry per tag
   * (named by containerd's `io.containerd.image.name` annotation), or one unnamed per untagged image.
   */
  readonly index: OciIndex;
  /** A small blob (a manifest, an index, a config), whole, its digest checked. */
  read(descriptor: OciDescriptor): Promise<Buffer>;
  /** A blob as it is read from disk (a layer); its digest is not checked on the way. */
  stream(descriptor: OciDescriptor): Promise<AsyncIterable<Uint8Array> | Uint8Array>;
  /** Check a blob is there with the digest and size its descriptor says (reads it through once). */
  verify(descriptor: OciDescriptor): Promise<void>;
}

export interface ImageLayoutOptions {
  /** The plugin's error code prefix: `CONTAINERD` makes `CONTAINERD_IMAGE_CORRUPT`. */
  codePrefix: string;
  /** What the layout came from, for messages; the directory by default. */
  origin?: string | undefined;
}

interface DockerSaveEntry {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

/** Unpack an image tarball (an OCI layout or a docker save archive) into `dir`, refusing unsafe paths. */
export async function extractImageArchive(file: string, dir: string, codePrefix: string): Promise<void> {
  try {
    await tar.x({ file, cwd: dir, strict: true, preservePaths: false });
  } catch (error) {
    throw ociError(
      codePrefix,
      'IMAGE_CORRUPT',
      `cannot read the image tarball ${file}: ${(error as Error).message}; give an OCI image layout or docker save tarball`,
      { cause: error },
    );
  }
}

/** Open the layout in `dir`; `<prefix>_IMAGE_CORRUPT` when it is neither kind of layout. */
export async function openImageLayout(dir: string, options: ImageLayoutOptions): Promise<ImageLayout> {
  const { codePrefix } = options;
  const origin = options.origin ?? dir;
  const corrupt = (message: string) => ociError(codePrefix, 'IMAGE_CORRUPT', `${origin}: ${message}`);
  // Blobs of a docker save archive live under names of their own; the made manifests in memory.
  const paths = new Map<string, string>();
  const made = new Map<string, Buffer>();

  const inside = (relative: string, what: string): string => {
    const path = resolve(dir, posix.normalize(relative));
    if (!path.startsWith(resolve(dir) + sep))
      throw corrupt(`${what} ${JSON.stringify(relative)} is outside it`);
    return path;
  };
  const blobPath = (descriptor: OciDescriptor): string => {
    const known = paths.get(descriptor.digest);
    if (known) return known;
    if (!isDigest(descriptor.digest)) {
      throw corrupt(`${JSON.stringify(descriptor.digest)} is not a sha256 digest`);
    }
    return join(dir, 'blobs', 'sha256', descriptor.digest.slice('sha256:'.length));
  };
  const regularFile = async (path: string, what: string): Promise<void> => {
    const stats = await lstat(path).catch(() => undefined);
    if (!stats?.isFile()) throw corrupt(`lacks ${what}${stats ? ' (not a regular file)' : ''}`);
  };
  const readJson = async <T>(name: string): Promise<T | undefined> => {
    const path = join(dir, name);
    if (!(await lstat(path).catch(() => undefined))) return undefined;
    await regularFile(path, name);
    try {
      return JSON.parse(await readFile(path, 'utf8')) as T;
    } catch (error) {
      throw ociError(codePrefix, 'IMAGE_CORRUPT', `${origin}: ${name} is not JSON`, { cause: error });
    }
  };

  let index = await readJson<OciIndex>('index.json');
  if (!index) {
    const saved = await readJson<DockerSaveEntry[]>('manifest.json');
    if (!Array.isArray(saved)) {
      throw corrupt(
        'it is neither an OCI image layout (no index.json) nor a docker save archive (no manifest.json)',
      );
    }
    index = { schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests: [] };
    for (const entry of saved) {
      const descriptor = await manifestForDockerSave(entry);
      const tags = entry.RepoTags?.length ? entry.RepoTags : [undefined];
      for (const tag of tags) {
        index.manifests.push({
          ...descriptor,
          ...(tag ? { annotations: { [CONTAINERD_NAME_ANNOTATION]: tag } } : {}),
        });
      }
    }
  }
  if (!Array.isArray(index.manifests)) throw corrupt('index.json lists no manifests');

  /** A file of the archive as a blob: its digest is computed (older archives name layers otherwise). */
  async function describe(file: string, mediaType: string): Promise<OciDescriptor> {
    const path = inside(file, 'the file');
    await regularFile(path, file);
    const hash = createHash('sha256');
    let size = 0;
    let head: Buffer | undefined;
    for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
      head ??= chunk.subarray(0, 2);
      hash.update(chunk);
      size += chunk.length;
    }
    const digest = `sha256:${hash.digest('hex')}`;
    paths.set(digest, path);
    const gzip = mediaType === MEDIA.ociLayer && head?.[0] === 0x1f && head[1] === 0x8b;
    return { mediaType: gzip ? MEDIA.ociLayerGzip : mediaType, digest, size };
  }

  async function manifestForDockerSave(entry: DockerSaveEntry): Promise<OciDescriptor> {
    if (typeof entry?.Config !== 'string' || !Array.isArray(entry.Layers)) {
      throw corrupt('manifest.json has an entry without Config and Layers');
    }
    const config = await describe(entry.Config, MEDIA.ociConfig);
    const layers: OciDescriptor[] = [];
    for (const file of entry.Layers) layers.push(await describe(file, MEDIA.ociLayer));
    const manifest = Buffer.from(
      JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.ociManifest, config, layers }),
    );
    const digest = sha256(manifest);
    made.set(digest, manifest);
    return { mediaType: MEDIA.ociManifest, digest, size: manifest.length };
  }

  const layout: ImageLayout = {
    dir,
    origin,
    index,
    async read(descriptor) {
      const inMemory = made.get(descriptor.digest);
      if (inMemory) return inMemory;
      const path = blobPath(descriptor);
      await regularFile(path, `the blob ${descriptor.digest}`);
      const data = await readFile(path);
      if (sha256(data) !== descriptor.digest)
        throw corrupt(`the blob ${descriptor.digest} does not match its digest`);
      return data;
    },
    async stream(descriptor) {
      const inMemory = made.get(descriptor.digest);
      if (inMemory) return inMemory;
      const path = blobPath(descriptor);
      await regularFile(path, `the blob ${descriptor.digest}`);
      return createReadStream(path);
    },
    async verify(descriptor) {
      const hash = createHash('sha256');
      let size = 0;
      const source = await layout.stream(descriptor);
      for await (const chunk of source instanceof Uint8Array ? [source] : source) {
        hash.update(chunk);
        size += chunk.length;
      }
      if (`sha256:${hash.digest('hex')}` !== descriptor.digest) {
        throw corrupt(`the blob ${descriptor.digest} does not match its digest`);
      }
      if (size !== descriptor.size) {
        throw corrupt(
          `the blob ${descriptor.digest} is ${size} bytes, its descriptor says ${descriptor.size}`,
        );
      }
    },
  };
  return layout;
}
