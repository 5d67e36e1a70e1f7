import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CallContext, resourceType } from '@conveyor/plugin-api';
import {
  extractImageArchive,
  type ImageLayout,
  isIndex,
  isManifest,
  isOciFailure,
  isTag,
  type OciDescriptor,
  type OciIndex,
  type OciManifest,
  openImageLayout,
  type RegistryClient,
} from '@conveyor/plugin-api/oci';
import semver from 'semver';
import { hostDirectory, matchOne } from './directory.js';
import { CODE_PREFIX, registryImageError } from './errors.js';
import { parseTagVersion } from './semver-tags.js';
import { type CredentialParams, type ParsedSource, parseSource } from './source.js';

interface PutParams extends CredentialParams {
  image: string;
  additional_tags?: string;
  version?: string;
  bump_aliases?: boolean;
}

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
 * docker save archive) to the source's repository at its tag, the tag of `version` (and the aliases
 * `bump_aliases` moves), and each of `additional_tags`. Every
 * blob is checked against its digest before anything is sent, so a damaged tarball tags nothing;
 * blobs the registry already has are not sent again.
 */
export async function put(
  request: resourceType.PutRequest,
  context: CallContext,
): Promise<resourceType.PutResponse> {
  const params = request.params as unknown as PutParams;
  const source = parseSource(request.source, params);
  const release = releaseOf(source, params);
  const dir = hostDirectory(request.directory);
  const file = await matchOne(dir, params.image, 'params.image');
  // As in Concourse: source.tag (latest when nothing else names a tag), then the release's tag
  // and the aliases it moves, then additional_tags. tag_regex and semver sources have no tag.
  const named = source.tagGiven || (source.tracking.kind === 'tag' && release === undefined);
  const extra = await additionalTags(dir, params.additional_tags);
  if (!named && release === undefined && extra.length === 0) {
    throw registryImageError(
      'BAD_PARAMS',
      'the source follows tag_regex or version tags and names no tag, so the put has no tag to push to: give params.version, or list the tags in a file named by params.additional_tags',
    );
  }

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
    const aliases =
      release && params.bump_aliases ? await aliasesToMove(client, source, release, context) : [];
    const tags = [
      ...new Set([...(named ? [source.tag] : []), ...(release ? [release.tag] : []), ...aliases, ...extra]),
    ];
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
    // Shaped as check answers this source's versions: with the tag it follows, when it does.
    const versionTag =
      source.tracking.kind === 'tag' ? undefined : (tags.find((tag) => follows(source, tag)) ?? tags[0]);
    return {
      version:
        versionTag === undefined ? { digest: plan.top.digest } : { tag: versionTag, digest: plan.top.digest },
      metadata: [
        { name: 'repository', value: source.repository },
        { name: 'tags', value: tags.join(' ') },
      ],
    };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** The version a put releases (params.version), and the tag it goes to: `1.2.3[-variant]`. */
interface Release {
  version: semver.SemVer;
  tag: string;
}

function releaseOf(source: ParsedSource, params: PutParams): Release | undefined {
  if (params.version === undefined || params.version === '') {
    if (params.bump_aliases) {
      throw registryImageError(
        'BAD_PARAMS',
        'params.bump_aliases moves the aliases of params.version: give it too',
      );
    }
    return undefined;
  }
  const parsed = parseTagVersion(String(params.version));
  // Concourse tags the version as Masterminds prints it: no `v`, all three numbers (1.2 is 1.2.0).
  const tag =
    parsed && `${parsed.version.format()}${source.variant === undefined ? '' : `-${source.variant}`}`;
  if (!parsed || !tag || !isTag(tag)) {
    throw registryImageError(
      'BAD_PARAMS',
      `params.version ${JSON.stringify(params.version)} is not a version a tag can carry (1.2.3, 1.2, v1.2.3-rc.1)`,
    );
  }
  return { version: parsed.version, tag };
}

/**
 * Concourse's bump_aliases, for a final release: `<major>.<minor>` when no later patch of it is in
 * the repository, `<major>` when no later minor or patch of that major is, and `latest` when nothing
 * later is at all; each with `-<variant>` (the bare variant for latest). Only final versions of the
 * same variant are compared.
 */
async function aliasesToMove(
  client: RegistryClient,
  source: ParsedSource,
  release: Release,
  context: CallContext,
): Promise<string[]> {
  if (release.version.prerelease.length > 0) return [];
  let existing: string[];
  try {
    existing = await client.tags();
  } catch (error) {
    if (!isOciFailure(error, CODE_PREFIX, 'IMAGE_NOT_FOUND')) throw error;
    existing = [];
  }
  const suffix = source.variant === undefined ? '' : `-${source.variant}`;
  const { major, minor, patch } = release.version;
  let latest = true;
  let majorAlias = true;
  let minorAlias = true;
  for (const tag of existing) {
    if (!tag.endsWith(suffix)) continue;
    const other = parseTagVersion(tag, tag.slice(0, tag.length - suffix.length))?.version;
    if (!other || other.prerelease.length > 0) continue;
    if (semver.gt(other, release.version)) latest = false;
    if (other.major === major && other.minor > minor) majorAlias = false;
    if (other.major === major && other.minor === minor && other.patch > patch) {
      minorAlias = false;
      majorAlias = false;
    }
  }
  const aliases = [
    ...(latest ? [source.variant ?? 'latest'] : []),
    ...(majorAlias ? [`${major}${suffix}`] : []),
    ...(minorAlias ? [`${major}.${minor}${suffix}`] : []),
  ];
  context.log(`${release.tag}: moving ${aliases.length ? aliases.join(', ') : 'no aliases'}`);
  return aliases;
}

/** Whether check would answer a version under this tag (its pattern or version form; not its range). */
function follows({ tracking }: ParsedSource, tag: string): boolean {
  if (tracking.kind === 'regex') return tracking.regex.test(tag);
  if (tracking.kind !== 'semver') return false;
  const suffix = tracking.variant === undefined ? '' : `-${tracking.variant}`;
  return tag.endsWith(suffix) && parseTagVersion(tag, tag.slice(0, tag.length - suffix.length)) !== undefined;
}

/** The whitespace-separated tags of the file `additional_tags` names. */
async function additionalTags(dir: string, path: string | undefined): Promise<string[]> {
  if (path === undefined) return [];
  const file = await matchOne(dir, path, 'params.additional_tags');
  const tags = (await readFile(file, 'utf8')).split(/\s+/).filter(Boolean);
  const bad = tags.filter((tag) => !isTag(tag));
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
