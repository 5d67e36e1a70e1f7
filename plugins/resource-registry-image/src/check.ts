import type { CallContext, resourceType } from '@conveyor/plugin-api';
import { isDigest, isOciFailure, type RegistryClient } from '@conveyor/plugin-api/oci';
import semver from 'semver';
import { CODE_PREFIX } from './errors.js';
import { parseTagVersion, type TagVersion } from './semver-tags.js';
import { type ParsedSource, parseSource, type Tracking } from './source.js';

type Versions = resourceType.CheckResponse['versions'];

/** The version a check starts from, as far as it says anything. */
interface From {
  tag: string | undefined;
  digest: string | undefined;
}

/** Manifest HEADs in flight at once while resolving many tags. */
const RESOLVE_CONCURRENCY = 8;

/**
 * Follow the repository as the source asks: the digest of one tag (`tag`, the default), every tag a
 * regular expression matches (`tag_regex`), or the tags that read as versions (`semver_constraint`,
 * `variant`, `pre_releases`). A repository or tag that does not exist has no versions; bad
 * credentials or an unreachable registry fail the check.
 */
export async function check(
  request: resourceType.CheckRequest,
  context: CallContext,
): Promise<resourceType.CheckResponse> {
  const source = parseSource(request.source);
  const client = source.client(context.signal);
  const version = (request.version ?? {}) as { tag?: unknown; digest?: unknown };
  const from: From = {
    tag: typeof version.tag === 'string' ? version.tag : undefined,
    digest: typeof version.digest === 'string' ? version.digest : undefined,
  };
  const { tracking } = source;
  if (tracking.kind === 'tag') return { versions: await checkTag(client, source, from, context) };

  let tags: string[];
  try {
    tags = await client.tags();
  } catch (error) {
    if (isOciFailure(error, CODE_PREFIX, 'IMAGE_NOT_FOUND')) {
      context.log(`${source.name} does not exist (yet)`);
      return { versions: [] };
    }
    throw error;
  }
  const resolver = new DigestResolver(client);
  const versions =
    tracking.kind === 'regex'
      ? await checkRegex(tags, tracking.regex, from, resolver)
      : await checkSemver(tags, tracking, from, resolver);
  context.log(`${source.name}: ${tags.length} tags, ${versions.length} versions`);
  return { versions };
}

/**
 * The digest the tag points at now, as Concourse's resource answers it: the given version first
 * when it differs and the repository still has it (oldest first, as the contract wants), then the
 * current one. Versions are `{ digest }` alone, as they always were here.
 */
async function checkTag(
  client: RegistryClient,
  source: ParsedSource,
  from: From,
  context: CallContext,
): Promise<Versions> {
  let digest: string;
  try {
    digest = (await client.resolve(source.tag)).digest;
  } catch (error) {
    if (isOciFailure(error, CODE_PREFIX, 'IMAGE_NOT_FOUND')) {
      context.log(`${source.name} has no tag ${source.tag} (yet)`);
      return [];
    }
    throw error;
  }
  const given = from.digest;
  if (given !== undefined && given !== digest && isDigest(given) && (await client.hasManifest(given))) {
    return [{ digest: given }, { digest }];
  }
  return [{ digest }];
}

/**
 * Every tag the expression matches, in lexical order, one version per tag. Concourse keeps the order
 * the registry lists them in: lexical for a paged Distribution listing, but an unpaged Distribution
 * 2.8 answers its storage's order, so the order is made here. From a version whose tag
 * still points at its digest, the list starts at that tag and only the tags after it are resolved;
 * otherwise every matching tag is.
 */
async function checkRegex(tags: string[], regex: RegExp, from: From, resolver: DigestResolver) {
  const matched = tags.filter((tag) => regex.test(tag)).sort();
  let start = 0;
  if (from.tag !== undefined && matched.includes(from.tag)) {
    if ((await resolver.digest(from.tag)) === from.digest) start = matched.indexOf(from.tag);
  }
  const kept = matched.slice(start);
  await resolver.resolveAll(kept);
  return kept.flatMap((tag) => {
    const digest = resolver.known(tag);
    return digest === undefined ? [] : [{ tag, digest }];
  });
}

/**
 * Concourse's semver tracking: tags that read as versions (with `-<variant>` when a variant is
 * set; without one, tags with a suffix are skipped as pre-releases), within the constraint; a
 * pre-release only with pre_releases, and only an alpha, beta or rc one. Each digest comes once,
 * under its most specific tag (1.2.3 rather than 1.2 or 1), in version order; `latest` (or the bare
 * variant tag) comes last when no constraint is set and it points at something no version tag does.
 * From a version whose tag still points at its digest, older versions are not resolved at all.
 */
async function checkSemver(
  tags: string[],
  tracking: Extract<Tracking, { kind: 'semver' }>,
  from: From,
  resolver: DigestResolver,
): Promise<Versions> {
  const { constraint, variant, preReleases } = tracking;
  const bare = variant ?? 'latest';
  const suffix = variant === undefined ? '' : `-${variant}`;
  const candidates: TagVersion[] = [];
  for (const tag of tags) {
    if (tag === bare || !tag.endsWith(suffix)) continue;
    const parsed = parseTagVersion(tag, tag.slice(0, tag.length - suffix.length));
    if (!parsed || (constraint && !constraint.test(parsed.version))) continue;
    const pre = parsed.version.prerelease.join('.');
    // `1.2.3-alpine` reads as a pre-release; only alpha, beta and rc ones are taken as such.
    if (pre !== '' && (!preReleases || pre.includes('-') || !/^(alpha|beta|rc)/.test(pre))) continue;
    candidates.push(parsed);
  }

  // 1. The given version's tag first: if it still points at the version's digest, it is the cursor.
  const start = candidates.find((candidate) => candidate.tag === from.tag);
  let cursor: semver.SemVer | undefined;
  if (start && (await resolver.digest(start.tag)) === from.digest) cursor = start.version;
  // 2. Resolve the rest from the cursor on (all of them without one), and the bare tag.
  const wanted = candidates.filter(
    (candidate) => !cursor || candidate === start || semver.gt(candidate.version, cursor),
  );
  const bareListed = constraint === undefined && tags.includes(bare);
  await resolver.resolveAll([...wanted.map((candidate) => candidate.tag), ...(bareListed ? [bare] : [])]);
  // 3. One entry per digest, under its most specific tag; the cursor's tag is seen first.
  const byDigest = new Map<string, TagVersion>();
  for (const candidate of start ? [start, ...wanted.filter((c) => c !== start)] : wanted) {
    const digest = resolver.known(candidate.tag);
    if (digest === undefined) continue;
    const existing = byDigest.get(digest);
    if (!existing || moreSpecific(candidate, existing)) byDigest.set(digest, candidate);
  }
  const versions: Versions = [...byDigest.entries()]
    .sort(([, a], [, b]) => semver.compare(a.version, b.version))
    .map(([digest, candidate]) => ({ tag: candidate.tag, digest }));
  const bareDigest = bareListed ? resolver.known(bare) : undefined;
  if (bareDigest !== undefined && !byDigest.has(bareDigest)) versions.push({ tag: bare, digest: bareDigest });
  return versions;
}

/** A final version over a pre-release; otherwise the one with more parts (3.2.1 over 3.2). */
function moreSpecific(candidate: TagVersion, existing: TagVersion): boolean {
  const pre = (v: TagVersion) => v.version.prerelease.length > 0;
  if (pre(candidate) !== pre(existing)) return pre(existing);
  return dots(candidate.original) > dots(existing.original);
}

const dots = (text: string) => text.split('.').length - 1;

/** Tags to digests by HEAD on their manifests, each asked once; a tag gone meanwhile has none. */
class DigestResolver {
  readonly #client: RegistryClient;
  readonly #digests = new Map<string, Promise<string | undefined>>();
  readonly #settled = new Map<string, string | undefined>();

  constructor(client: RegistryClient) {
    this.#client = client;
  }

  digest(tag: string): Promise<string | undefined> {
    let pending = this.#digests.get(tag);
    if (!pending) {
      pending = this.#client.resolve(tag).then(
        ({ digest }) => digest,
        (error: unknown) => {
          if (isOciFailure(error, CODE_PREFIX, 'IMAGE_NOT_FOUND')) return undefined;
          throw error;
        },
      );
      this.#digests.set(tag, pending);
    }
    return pending;
  }

  /** Resolve many, a few at a time; the first failure fails them all. */
  async resolveAll(tags: string[]): Promise<void> {
    const queue = [...new Set(tags)];
    const worker = async () => {
      for (let tag = queue.shift(); tag !== undefined; tag = queue.shift()) {
        this.#settled.set(tag, await this.digest(tag));
      }
    };
    await Promise.all(Array.from({ length: Math.min(RESOLVE_CONCURRENCY, queue.length) }, worker));
  }

  /** The digest of a tag already resolved (undefined if it is gone or was not asked). */
  known(tag: string): string | undefined {
    return this.#settled.get(tag);
  }
}
