/**
 * `cc plugin info` and `cc plugin search`: what a registry offers, read the way `cc plugin
 * install` reads it (the artifact's config, its signatures; names through the plugin index),
 * without installing anything.
 */
import semver from 'semver';
import { CliError } from '../errors/index.js';
import { readConfig } from './install.js';
import { ANNOTATIONS, MEDIA_TYPES, type PluginArtifactConfig } from './media-types.js';
import type { RegistryReader } from './oci-client.js';
import { type FetchedIndex, type Resolution, readPluginIndex } from './plugin-index.js';
import { verifySignature } from './signing.js';
import type { TrustStore } from './trust.js';

/**
 * `trusted`: a trusted publisher's signature verifies; `untrusted`: signed by keys none trusts;
 * `invalid`: a signature naming a trusted key does not verify; `unsigned`: no signature.
 */
export type SignatureStatus = 'trusted' | 'untrusted' | 'invalid' | 'unsigned';

export interface VersionInfo {
  version: string;
  apiVersion: string;
  kind: string;
  digest: string;
  /** Its plugin API range includes this host's. */
  compatible: boolean;
  /** What `cc plugin install NAME` picks here: the highest compatible version. */
  installs: boolean;
  signature: { status: SignatureStatus; publisher: string | null; keyIds: string[] };
}

export interface PluginInfo {
  name: string;
  registry: string;
  repository: string;
  /** How NAME became the repository: `--repository`, the namespace's index, or `<namespace>/<name>`. */
  via: Resolution['via'];
  hostApiVersion: string;
  description: string | null;
  /** Newest first. */
  versions: VersionInfo[];
}

/** Every plugin version in `repository`, newest first, with its signature checked against `trust`. */
export async function pluginInfo(
  client: RegistryReader,
  { repository, via }: Pick<Resolution, 'repository' | 'via'>,
  name: string,
  hostApiVersion: string,
  trust: TrustStore,
): Promise<PluginInfo> {
  const versions: VersionInfo[] = [];
  let description: string | null = null;
  for (const tag of (await client.listTags(repository)).filter((t) => semver.valid(t) !== null)) {
    const fetched = await client.getManifest(repository, tag);
    if (fetched.manifest.artifactType !== MEDIA_TYPES.plugin) continue;
    const config = await readConfig(client, repository, fetched, `${repository}:${tag}`);
    if (config.name !== name) continue;
    versions.push({
      version: config.version,
      apiVersion: config.apiVersion,
      kind: config.kind,
      digest: fetched.digest,
      compatible:
        semver.validRange(config.apiVersion) !== null && semver.satisfies(hostApiVersion, config.apiVersion),
      installs: false,
      signature: await signatureStatus(client, repository, fetched.digest, trust),
    });
  }
  versions.sort((a, b) => semver.rcompare(a.version, b.version));
  const chosen = versions.find((v) => v.compatible);
  if (chosen !== undefined) chosen.installs = true;
  if (versions[0] !== undefined) {
    const newest = await client.getManifest(repository, versions[0].digest);
    description = (await readConfig(client, repository, newest, repository)).description ?? null;
  }
  if (versions.length === 0) {
    throw new CliError(
      'CC_E_CLI_PLUGIN_NO_MATCHING_VERSION',
      via === 'index'
        ? `${client.url}/${repository} has no versions of ${name}, though the plugin index names it for ${name}; fix the entry with \`cc plugin index add ${name} REPOSITORY\``
        : `${client.url}/${repository} has no versions of ${name}; check the plugin name and --registry (or --repository)`,
      { details: { plugin: name, versions: [], repository } },
    );
  }
  return { name, registry: client.url, repository, via, hostApiVersion, description, versions };
}

async function signatureStatus(
  client: RegistryReader,
  repository: string,
  digest: string,
  trust: TrustStore,
): Promise<VersionInfo['signature']> {
  const keyIds: string[] = [];
  let invalid: string | null = null;
  for (const descriptor of await client.referrers(repository, digest, MEDIA_TYPES.signature)) {
    const signature = (await client.getManifest(repository, descriptor.digest)).manifest;
    if (signature.subject?.digest !== digest) continue;
    const keyId = signature.annotations?.[ANNOTATIONS.keyId] ?? '';
    keyIds.push(keyId);
    const trusted = trust.get(keyId);
    const layer = signature.layers?.[0];
    if (trusted === undefined || layer === undefined) continue;
    if (verifySignature(digest, await client.getBlob(repository, layer), trusted.key)) {
      return { status: 'trusted', publisher: trusted.name, keyIds };
    }
    invalid = trusted.name;
  }
  if (invalid !== null) return { status: 'invalid', publisher: invalid, keyIds };
  return { status: keyIds.length === 0 ? 'unsigned' : 'untrusted', publisher: null, keyIds };
}

export interface SearchHit {
  name: string;
  repository: string;
  /** The highest version, whatever its plugin API; null for an index entry whose repository has none. */
  latest: string | null;
  kind: string | null;
  apiVersion: string | null;
  /** The latest version's plugin API range includes this host's. */
  compatible: boolean;
  /** The index entry's description, else the latest version's. */
  description: string | null;
  /** Listed by the namespace's plugin index (else found in the catalog). */
  indexed: boolean;
}

export interface SearchResult {
  /** `index`: the namespace's plugin index was listed; `catalog`: there is none, the catalog was. */
  source: 'index' | 'catalog';
  hits: SearchHit[];
}

/**
 * The plugins of `namespace` whose name or description contains `term` (any case), each with its
 * latest version: the entries of the namespace's plugin index when it has one, else the
 * repositories under the namespace in the registry's catalog that hold a plugin.
 */
export async function searchPlugins(
  client: RegistryReader,
  namespace: string,
  term: string | undefined,
  hostApiVersion: string,
): Promise<SearchResult> {
  const wanted = term?.toLowerCase();
  const matches = (name: string, description: string | null | undefined) =>
    wanted === undefined || `${name}\n${description ?? ''}`.toLowerCase().includes(wanted);
  const index = await readPluginIndex(client, namespace);
  if (index !== null)
    return { source: 'index', hits: await searchIndex(client, index, matches, hostApiVersion) };

  const prefix = `${namespace}/`;
  const hits: SearchHit[] = [];
  for (const repository of (await client.catalog()).filter((r) => r.startsWith(prefix)).sort()) {
    const latest = await latestVersion(client, repository);
    if (latest === null) continue;
    const description = latest.description ?? null;
    if (!matches(latest.name, description)) continue;
    hits.push({
      name: latest.name,
      repository,
      latest: latest.version,
      kind: latest.kind,
      apiVersion: latest.apiVersion,
      compatible: compatibleWith(hostApiVersion, latest.apiVersion),
      description,
      indexed: false,
    });
  }
  return { source: 'catalog', hits };
}

async function searchIndex(
  client: RegistryReader,
  { index }: FetchedIndex,
  matches: (name: string, description: string | null | undefined) => boolean,
  hostApiVersion: string,
): Promise<SearchHit[]> {
  const hits: SearchHit[] = [];
  for (const [name, entry] of Object.entries(index.plugins).sort(([a], [b]) => a.localeCompare(b))) {
    // The index's description is checked first: a miss needs no request.
    const latest =
      matches(name, entry.description) || entry.description === undefined
        ? await latestVersion(client, entry.repository)
        : null;
    const description = entry.description ?? latest?.description ?? null;
    if (!matches(name, description)) continue;
    hits.push({
      name,
      repository: entry.repository,
      latest: latest?.version ?? null,
      kind: latest?.kind ?? null,
      apiVersion: latest?.apiVersion ?? null,
      compatible: latest !== null && compatibleWith(hostApiVersion, latest.apiVersion),
      description,
      indexed: true,
    });
  }
  return hits;
}

/** The config of the highest semver tag of `repository`, or null when it holds no plugin. */
async function latestVersion(
  client: RegistryReader,
  repository: string,
): Promise<PluginArtifactConfig | null> {
  const tags = (await client.listTags(repository)).filter((t) => semver.valid(t) !== null);
  const latest = tags.sort(semver.rcompare)[0];
  if (latest === undefined) return null;
  const fetched = await client.getManifest(repository, latest);
  if (fetched.manifest.artifactType !== MEDIA_TYPES.plugin) return null;
  return readConfig(client, repository, fetched, `${repository}:${latest}`);
}

function compatibleWith(hostApiVersion: string, apiVersion: string): boolean {
  return semver.validRange(apiVersion) !== null && semver.satisfies(hostApiVersion, apiVersion);
}

/**
 * What is wrong with pointing the index entry NAME at `repository`, if anything: it holds no plugin
 * version yet, or its latest version is another plugin. Only a warning: an entry may be added
 * before the first publish.
 */
export async function indexEntryWarning(
  client: RegistryReader,
  repository: string,
  name: string,
): Promise<string | null> {
  const latest = await latestVersion(client, repository);
  if (latest === null) {
    return `${client.url}/${repository} holds no plugin versions yet; \`cc plugin install ${name}\` finds none there until one is published`;
  }
  if (latest.name !== name) {
    return `${client.url}/${repository} holds the plugin ${latest.name}, not ${name}; \`cc plugin install ${name}\` finds no versions of ${name} there`;
  }
  return null;
}
