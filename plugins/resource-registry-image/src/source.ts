import {
  type ImageReference,
  isLoopbackHost,
  isTag,
  type OciPlatform,
  parseReference,
  RegistryClient,
} from '@conveyor/plugin-api/oci';
import { CODE_PREFIX, registryImageError } from './errors.js';
import { parseConstraint, type SemverConstraint } from './semver-tags.js';

/** The source keys this resource reads; the other Concourse keys are accepted and ignored. */
export interface RegistryImageSource {
  repository: string;
  tag?: string | number;
  username?: string;
  password?: string;
  insecure?: boolean;
  insecure_registries?: string[];
  platform?: Partial<OciPlatform>;
  tag_regex?: string;
  semver_constraint?: string;
  variant?: string;
  pre_releases?: boolean;
  created_at_sort?: boolean;
}

/**
 * What check follows. `tag`: the digest one tag points at (versions `{ digest }`, as before).
 * `regex`: every tag `tag_regex` matches, in lexical order. `semver`: tags that read as
 * versions (with the variant's suffix), in version order. The last two answer `{ tag, digest }`.
 */
export type Tracking =
  | { kind: 'tag' }
  | { kind: 'regex'; regex: RegExp }
  | {
      kind: 'semver';
      constraint: SemverConstraint | undefined;
      variant: string | undefined;
      preReleases: boolean;
    };

/** A source made usable: the reference it names and a client for its repository. */
export interface ParsedSource {
  /** The repository as the source wrote it (what the `repository` file holds). */
  repository: string;
  /** source.tag, or latest when the source names none. */
  tag: string;
  /** Whether source.tag was given, not defaulted (a put with params.version pushes to it only then). */
  tagGiven: boolean;
  tracking: Tracking;
  /** source.variant: the suffix of version tags, followed by check and pushed to by put. */
  variant: string | undefined;
  ref: ImageReference;
  /** `host/repository`, for messages and logs: never the credentials. */
  name: string;
  insecure: boolean;
  platform: Partial<OciPlatform>;
  client(signal?: AbortSignal): RegistryClient;
}

/** Keys that change what check follows; Go's zero values (`""`, `false`) count as not given. */
const TRACKING_KEYS = ['tag', 'tag_regex', 'semver_constraint', 'variant', 'pre_releases'] as const;

/** Credentials a step's params may give instead of the source's (Concourse: short-lived ones). */
export interface CredentialParams {
  username?: string;
  password?: string;
}

export function parseSource(raw: Record<string, unknown>, params: CredentialParams = {}): ParsedSource {
  const source = raw as unknown as RegistryImageSource;
  const tracking = trackingOf(source);
  const repository = source.repository;
  const last = repository.slice(repository.lastIndexOf('/') + 1);
  if (/[:@]/.test(last)) {
    throw registryImageError(
      'BAD_SOURCE',
      `source.repository ${JSON.stringify(repository)} names a tag or digest; give the repository alone and the tag in source.tag`,
    );
  }
  const tag = given(source.tag) ? String(source.tag) : 'latest';
  if (!isTag(tag)) {
    throw registryImageError(
      'BAD_SOURCE',
      `source.tag ${JSON.stringify(tag)} is not a tag: letters, digits, _, . and - (at most 128, not starting with . or -)`,
    );
  }
  const ref = parseReference(`${repository}:${tag}`, CODE_PREFIX);
  const listed = source.insecure_registries ?? [];
  const hostname = ref.host.replace(/:\d+$/, '');
  const insecure =
    source.insecure === true ||
    isLoopbackHost(ref.host) ||
    listed.includes(ref.host) ||
    listed.includes(hostname);
  const username = params.username ?? source.username;
  const password = params.password ?? source.password;
  return {
    repository,
    tag,
    tagGiven: given(source.tag),
    tracking,
    variant: variantOf(source),
    ref,
    name: `${ref.host}/${ref.repository}`,
    insecure,
    platform: source.platform ?? {},
    client: (signal) =>
      new RegistryClient(ref, { codePrefix: CODE_PREFIX, username, password, insecure, signal }),
  };
}

const given = (value: unknown) => value !== undefined && value !== null && value !== '' && value !== false;

/**
 * Which of the three ways to follow the repository the source asks for. Concourse's resource lets
 * `tag` win over `tag_regex`, and `tag_regex` over the semver keys, silently; here a source that
 * mixes them is refused, naming the keys, since one of them would be ignored.
 */
function trackingOf(source: RegistryImageSource): Tracking {
  const present = TRACKING_KEYS.filter((key) => given(source[key]));
  const conflict = (keys: readonly string[], why: string) => {
    const both = keys.filter((key) => present.includes(key as (typeof TRACKING_KEYS)[number]));
    if (both.length < 2) return;
    throw registryImageError(
      'BAD_SOURCE',
      `source.${both.join(' and source.')} cannot be used together: ${why}`,
    );
  };
  conflict(
    ['tag', 'tag_regex', 'semver_constraint'],
    'tag follows one tag, tag_regex the tags a regular expression matches, semver_constraint the version tags in a range; keep one',
  );
  conflict(
    ['tag_regex', 'variant'],
    'variant applies to version tags only; put the suffix in the regular expression instead',
  );
  conflict(['tag', 'pre_releases'], 'pre_releases applies to version tags only; remove it');
  conflict(['tag_regex', 'pre_releases'], 'pre_releases applies to version tags only; remove it');
  if (given(source.created_at_sort)) {
    throw registryImageError(
      'UNSUPPORTED_FEATURE',
      "source.created_at_sort is not supported by Conveyor's registry-image resource yet: tag_regex versions come in lexical tag order",
    );
  }
  const variant = variantOf(source);
  if (given(source.tag_regex)) return { kind: 'regex', regex: compileRegex(String(source.tag_regex)) };
  // With tag, variant only names the tag a put's params.version pushes to, as in Concourse.
  if (present.length === 0 || present.includes('tag')) return { kind: 'tag' };
  return {
    kind: 'semver',
    constraint: given(source.semver_constraint)
      ? parseConstraint(String(source.semver_constraint))
      : undefined,
    variant,
    preReleases: source.pre_releases === true,
  };
}

function variantOf(source: RegistryImageSource): string | undefined {
  if (!given(source.variant)) return undefined;
  const variant = String(source.variant);
  if (!isTag(`0-${variant}`)) {
    throw registryImageError(
      'BAD_SOURCE',
      `source.variant ${JSON.stringify(variant)} cannot end a tag: letters, digits, _, . and - only`,
    );
  }
  return variant;
}

/**
 * Concourse matches with Go's regexp: anywhere in the tag unless the expression says `^…$`. The
 * same here, with JavaScript's syntax (RE2's common subset reads the same).
 */
function compileRegex(text: string): RegExp {
  try {
    return new RegExp(text);
  } catch (error) {
    throw registryImageError(
      'BAD_SOURCE',
      `source.tag_regex ${JSON.stringify(text)} is not a regular expression (${(error as Error).message}); e.g. "^v\\d+\\.\\d+$"`,
      { cause: error },
    );
  }
}
