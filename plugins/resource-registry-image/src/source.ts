import {
  type ImageReference,
  isLoopbackHost,
  type OciPlatform,
  parseReference,
  RegistryClient,
} from '@conveyor/plugin-api/oci';
import { CODE_PREFIX, registryImageError } from './errors.js';

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
}

/** A source made usable: the reference it names and a client for its repository. */
export interface ParsedSource {
  /** The repository as the source wrote it (what the `repository` file holds). */
  repository: string;
  tag: string;
  ref: ImageReference;
  /** `host/repository`, for messages and logs: never the credentials. */
  name: string;
  insecure: boolean;
  platform: Partial<OciPlatform>;
  client(signal?: AbortSignal): RegistryClient;
}

const TAG = /^[\w][\w.-]{0,127}$/;

/** Features of Concourse's resource that change what check tracks: refused, never silently ignored. */
const UNSUPPORTED = ['tag_regex', 'semver_constraint', 'variant'] as const;

/** Credentials a step's params may give instead of the source's (Concourse: short-lived ones). */
export interface CredentialParams {
  username?: string;
  password?: string;
}

export function parseSource(raw: Record<string, unknown>, params: CredentialParams = {}): ParsedSource {
  const source = raw as unknown as RegistryImageSource;
  for (const key of UNSUPPORTED) {
    if (source[key] !== undefined) {
      throw registryImageError(
        'UNSUPPORTED_FEATURE',
        `source.${key} is not supported by Conveyor's registry-image resource yet: track one tag with source.tag instead`,
      );
    }
  }
  const repository = source.repository;
  const last = repository.slice(repository.lastIndexOf('/') + 1);
  if (/[:@]/.test(last)) {
    throw registryImageError(
      'BAD_SOURCE',
      `source.repository ${JSON.stringify(repository)} names a tag or digest; give the repository alone and the tag in source.tag`,
    );
  }
  const tag = String(source.tag ?? 'latest');
  if (!TAG.test(tag)) {
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
    ref,
    name: `${ref.host}/${ref.repository}`,
    insecure,
    platform: source.platform ?? {},
    client: (signal) =>
      new RegistryClient(ref, { codePrefix: CODE_PREFIX, username, password, insecure, signal }),
  };
}
