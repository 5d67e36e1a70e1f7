import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CallContext, resourceType } from '@conveyor/plugin-api';
import {
  extractImageArchive,
  type ImageLayout,
  isIndex,
  isManifest,
  type OciDescriptor,
  type OciIndex,
  type OciManifest,
  openImageLayout,
} from '@conveyor/plugin-api/oci';
import { hostDirectory, matchOne } from './directory.js';
import { CODE_PREFIX, registryImageError } from './errors.js';
import { type CredentialParams, parseSource } from './source.js';

interface PutParams extends CredentialParams {
  image: string;
  additional_tags?: string;
  version?: string;
  bump_aliases?: boolean;
}

const TAG = /^[\w][\w.-]{0,127}$/;

/** What a push sends: blobs first, then manifests children first, the top one last (under the tags). */
interface PushPlan {
  top: OciDescriptor;
  blobs: OciDescriptor[];
  /** Manifests and indexes below the top, by digest, with their bytes. */
  children: Array<{ descriptor: OciDescriptor; data: Buffer }>;
  topData: Buffer;
}

/**
 * Push the image tarball `params.image` names (an OCI image layout, as oci-build-task writes, or a
 * docker save archive) to the source's repository at its tag and each of `additional_tags`. Every
 * blob is checked against its digest before anything is sent, so a damaged tarball tags nothing;
 * blobs the registry already has are not sent again.
 */
export async function put(
  request: resourceType.PutRequest,
  context: CallContext,
): Promise<resourceType.PutResponse> {
  const params = request.params as unknown as PutParams;
  const source = parseSource(request.source, params);
  for (const key of ['version', 'bump_aliases'] as const) {
    if (params[key] !== undefined) {
      throw registryImageError(
        'UNSUPPORTED_FEATURE',
        `params.${key} (semver tags) is not supported by Conveyor's registry-image resource yet: list the tags in a file named by params.additional_tags instead`,
      );
    }
  }
  const dir = hostDirectory(request.directory);
  const file = await matchOne(dir, params.image, 'params.image');
  const tags = [...new Set([source.tag, ...(await additionalTags(dir, params.additional_tags))])];

  const scratch = await mkdtemp(join(tmpdir(), 'conveyor-registry-image-put-'));
  try {
    let layout: ImageLayout;
    if ((await stat(file)).isDirectory()) {
      layout = await openImageLayout(file, { codePrefix: CODE_PREFIX });
    } else {
      await extractImageArchive(file, scratch, CODE_PREFIX);
      layout = await openImageLayout(scratch, { codePrefix: CODE_PREFIX, origin: file });
    }
    const plan = await planPush(layout);
    context.log(`checking the ${plan.blobs.length} blobs of ${params.image}`);
    for (const blob of plan.blobs) await layout.verify(blob);

    const client = source.client(context.signal);
    for (const blob of plan.blobs) {
      if (await client.hasBlob(blob.digest)) {
        context.log(`${blob.digest}: already in ${source.name}`);
        continue;
      }
      context.log(`pushing ${blob.digest} (${blob.size} bytes)`);
      await client.pushBlob(blob, () => streamOf(layout, blob));
    }
    for (const child of plan.children) {
      await client.pushManifest(child.descriptor.digest, child.descriptor.mediaType, child.data);
    }
    for (const tag of tags) {
      context.log(`tagging ${source.name}:${tag}`);
      await client.pushManifest(tag, plan.top.mediaType, plan.topData);
    }
    return {
      version: { digest: plan.top.digest },
      metadata: [
        { name: 'repository', value: source.repository },
        { name: 'tags', value: tags.join(' ') },
      ],
    };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** The whitespace-separated tags of the file `additional_tags` names. */
async function additionalTags(dir: string, path: string | undefined): Promise<string[]> {
  if (path === undefined) return [];
  const file = await matchOne(dir, path, 'params.additional_tags');
  const tags = (await readFile(file, 'utf8')).split(/\s+/).filter(Boolean);
  const bad = tags.filter((tag) => !TAG.test(tag));
  if (bad.length) {
    throw registryImageError(
      'BAD_PARAMS',
      `params.additional_tags ${JSON.stringify(path)} lists ${bad.map((t) => JSON.stringify(t)).join(', ')}, which are not tags`,
    );
  }
  return tags;
}

/** The one image of the layout, and everything it references. */
async function planPush(layout: ImageLayout): Promise<PushPlan> {
  const digests = [...new Set(layout.index.manifests.map((m) => m.digest))];
  const top = layout.index.manifests[0];
  if (!top || digests.length !== 1) {
    throw registryImageError(
      'BAD_PARAMS',
      `${layout.origin} holds ${digests.length} images; params.image must name a tarball of exactly one`,
    );
  }
  const blobs = new Map<string, OciDescriptor>();
  const children: PushPlan['children'] = [];
  const visit = async (descriptor: OciDescriptor, depth: number): Promise<Buffer> => {
    const data = await layout.read(descriptor);
    const document = JSON.parse(data.toString('utf8')) as Partial<OciIndex & OciManifest>;
    if (isIndex(descriptor.mediaType) && Array.isArray(document.manifests) && depth < 4) {
      for (const child of document.manifests) {
        children.push({ descriptor: child, data: await visit(child, depth + 1) });
      }
    } else if (isManifest(descriptor.mediaType) && document.config && Array.isArray(document.layers)) {
      for (const blob of [document.config, ...document.layers]) blobs.set(blob.digest, blob);
    } else {
      throw registryImageError(
        'IMAGE_UNSUPPORTED',
        `${layout.origin}: ${descriptor.digest} is a ${descriptor.mediaType}, not an image manifest or index`,
      );
    }
    return data;
  };
  const topData = await visit(top, 0);
  return {
    top: { mediaType: top.mediaType, digest: top.digest, size: top.size },
    blobs: [...blobs.values()],
    children,
    topData,
  };
}

async function* streamOf(layout: ImageLayout, blob: OciDescriptor): AsyncIterable<Uint8Array> {
  const source = await layout.stream(blob);
  if (source instanceof Uint8Array) yield source;
  else yield* source;
}
