import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CallContext, resourceType } from '@conveyor/plugin-api';
import {
  CONTAINERD_NAME_ANNOTATION,
  isDigest,
  isIndex,
  isManifest,
  MEDIA,
  type OciDescriptor,
  type OciImageConfig,
  type OciIndex,
  type OciManifest,
  pickManifest,
  REF_NAME_ANNOTATION,
  type RegistryClient,
} from '@conveyor/plugin-api/oci';
import * as tar from 'tar';
import { hostDirectory } from './directory.js';
import { registryImageError } from './errors.js';
import { RootfsBuilder } from './rootfs.js';
import { type CredentialParams, type ParsedSource, parseSource } from './source.js';

interface GetParams extends CredentialParams {
  format?: 'rootfs' | 'oci';
  skip_download?: boolean;
}

/** One platform's image: its manifest, config, and where the manifest was found. */
interface PlatformImage {
  descriptor: OciDescriptor;
  data: Buffer;
  manifest: OciManifest;
}

/**
 * Write `repository`, `tag` (the version's, else the source's) and `digest`, then the image of the version's digest for this
 * platform: as `rootfs/` (its layers applied in order) with `metadata.json` (env and user, as
 * Concourse writes them), or as `image.tar`, an OCI image layout tarball a task or a later put can
 * use. Every blob's digest is checked as it arrives.
 */
export async function get(
  request: resourceType.GetRequest,
  context: CallContext,
): Promise<resourceType.GetResponse> {
  const params = (request.params ?? {}) as GetParams;
  const source = parseSource(request.source, params);
  const { digest, tag: versionTag } = request.version as { digest?: unknown; tag?: unknown };
  if (typeof digest !== 'string' || !isDigest(digest)) {
    throw registryImageError(
      'BAD_VERSION',
      `version ${JSON.stringify(request.version)} names no digest (sha256:…); check the resource to find its versions`,
    );
  }
  // A version from tag_regex or semver tracking names its tag; the image is still fetched by digest.
  const tag = typeof versionTag === 'string' && versionTag !== '' ? versionTag : source.tag;
  const version: Record<string, string> = tag === versionTag ? { tag, digest } : { digest };
  const dir = hostDirectory(request.directory);
  await writeFile(join(dir, 'repository'), source.repository);
  await writeFile(join(dir, 'tag'), tag);
  await writeFile(join(dir, 'digest'), digest);
  const metadata = metadataOf(source, tag);
  if (params.skip_download) return { version, metadata };

  const client = source.client(context.signal);
  context.log(`fetching ${source.name}@${digest}`);
  const image = await platformImage(client, source, digest);
  // Blobs are fetched next to where they end up (a rootfs can be big for /tmp), then removed.
  const scratch = await mkdtemp(join(dir, '.registry-image-'));
  try {
    if ((params.format ?? 'rootfs') === 'rootfs') {
      await writeRootfs(client, image, dir, scratch, context);
    } else {
      await writeOciArchive(client, source, tag, image, dir, scratch, context);
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  return { version, metadata };
}

const metadataOf = (source: ParsedSource, tag: string) => [
  { name: 'repository', value: source.repository },
  { name: 'tag', value: tag },
];

/** Walk down from the version's digest to the platform's manifest (a single image is its own). */
async function platformImage(
  client: RegistryClient,
  source: ParsedSource,
  digest: string,
): Promise<PlatformImage> {
  let { descriptor, data } = await client.manifest(digest);
  for (let depth = 0; isIndex(descriptor.mediaType) || isIndexDocument(data); depth++) {
    const index = JSON.parse(data.toString('utf8')) as OciIndex;
    const picked = depth < 4 ? pickManifest(index, source.platform) : undefined;
    if (!picked) {
      const platforms = index.manifests
        .map((m) => `${m.platform?.os}/${m.platform?.architecture}`)
        .join(', ');
      throw registryImageError(
        'IMAGE_PLATFORM',
        `${source.name}@${digest} has no image for ${source.platform.os ?? 'linux'}/${source.platform.architecture ?? 'this machine'} (it has ${platforms}); set source.platform`,
      );
    }
    ({ descriptor, data } = await client.manifest(picked.digest));
    descriptor = { ...descriptor, ...(picked.platform ? { platform: picked.platform } : {}) };
  }
  const manifest = JSON.parse(data.toString('utf8')) as OciManifest;
  if (!isManifest(descriptor.mediaType) && !manifest.config) {
    throw registryImageError(
      'IMAGE_UNSUPPORTED',
      `${source.name}@${digest} is a ${descriptor.mediaType}, not an image manifest`,
    );
  }
  return { descriptor, data, manifest };
}

/** Some registries answer a generic content type: an index is known by its `manifests`. */
function isIndexDocument(data: Buffer): boolean {
  const parsed = JSON.parse(data.toString('utf8')) as { manifests?: unknown; config?: unknown };
  return Array.isArray(parsed.manifests) && parsed.config === undefined;
}

async function writeRootfs(
  client: RegistryClient,
  image: PlatformImage,
  dir: string,
  scratch: string,
  context: CallContext,
): Promise<void> {
  const config = JSON.parse(
    (await client.readBlob(image.manifest.config)).toString('utf8'),
  ) as OciImageConfig;
  const rootfs = join(dir, 'rootfs');
  await mkdir(rootfs, { recursive: true });
  const builder = new RootfsBuilder(rootfs, { log: (line) => context.log(line) });
  const { layers } = image.manifest;
  for (const [i, layer] of layers.entries()) {
    if (/zstd/.test(layer.mediaType)) {
      throw registryImageError(
        'IMAGE_UNSUPPORTED',
        `layer ${layer.digest} is compressed with zstd, which this resource cannot read yet`,
      );
    }
    context.log(`layer ${i + 1}/${layers.length} ${layer.digest} (${layer.size} bytes)`);
    const file = join(scratch, layer.digest.slice('sha256:'.length));
    await client.blobToFile(layer, file);
    await builder.apply(file, layer.digest);
    await rm(file, { force: true });
  }
  builder.finish();
  const metadata = { env: config.config?.Env ?? [], user: config.config?.User ?? '' };
  await writeFile(join(dir, 'metadata.json'), `${JSON.stringify(metadata)}\n`);
}

/**
 * image.tar: an OCI image layout of the platform's image (oci-layout, index.json naming it by its
 * tag, blobs/sha256/), with docker save's manifest.json over the same blobs so `docker load` reads
 * it too.
 */
async function writeOciArchive(
  client: RegistryClient,
  source: ParsedSource,
  tag: string,
  image: PlatformImage,
  dir: string,
  scratch: string,
  context: CallContext,
): Promise<void> {
  const layout = join(scratch, 'layout');
  const blobs = join(layout, 'blobs', 'sha256');
  await mkdir(blobs, { recursive: true });
  const blobFile = (descriptor: OciDescriptor) => join(blobs, descriptor.digest.slice('sha256:'.length));
  const { manifest } = image;
  await writeFile(blobFile(image.descriptor), image.data);
  await client.blobToFile(manifest.config, blobFile(manifest.config));
  for (const [i, layer] of manifest.layers.entries()) {
    context.log(`layer ${i + 1}/${manifest.layers.length} ${layer.digest} (${layer.size} bytes)`);
    await client.blobToFile(layer, blobFile(layer));
  }
  const { mediaType, digest, size, platform } = image.descriptor;
  const index: OciIndex = {
    schemaVersion: 2,
    mediaType: MEDIA.ociIndex,
    manifests: [
      {
        mediaType,
        digest,
        size,
        annotations: {
          [REF_NAME_ANNOTATION]: tag,
          [CONTAINERD_NAME_ANNOTATION]: `${source.ref.host}/${source.ref.repository}:${tag}`,
        },
        ...(platform ? { platform } : {}),
      },
    ],
  };
  await writeFile(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await writeFile(join(layout, 'index.json'), JSON.stringify(index));
  const blobName = (d: OciDescriptor) => `blobs/sha256/${d.digest.slice('sha256:'.length)}`;
  await writeFile(
    join(layout, 'manifest.json'),
    JSON.stringify([
      {
        Config: blobName(manifest.config),
        RepoTags: [`${source.repository}:${tag}`],
        Layers: manifest.layers.map(blobName),
      },
    ]),
  );
  await tar.c({ file: join(dir, 'image.tar'), cwd: layout, portable: true }, [
    'oci-layout',
    'index.json',
    'manifest.json',
    'blobs',
  ]);
}
