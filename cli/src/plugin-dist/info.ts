/**
 * `cc plugin info` and `cc plugin search`: what a registry offers, read the way `cc plugin
 * install` reads it (the artifact's config, its signatures), without installing anything.
 */
import semver from 'semver';
import { CliError } from '../errors/index.js';
import { readConfig } from './install.js';
import { ANNOTATIONS, MEDIA_TYPES } from './media-types.js';
import type { OciClient } from './oci-client.js';
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
  hostApiVersion: string;
  description: string | null;
  /** Newest first. */
  versions: VersionInfo[];
}

/** Every plugin version in `repository`, newest first, with its signature checked against `trust`. */
export async function pluginInfo(
  client: OciClient,
  repository: string,
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
      `${client.url}/${repository} has no versions of ${name}; check the plugin name and --registry (or --repository)`,
      { details: { plugin: name, versions: [] } },
    );
  }
  return { name, registry: client.url, repository, hostApiVersion, description, versions };
}

async function signatureStatus(
  client: OciClient,
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
  /** The highest version, whatever its plugin API. */
  latest: string;
  kind: string;
  apiVersion: string;
  /** The latest version's plugin API range includes this host's. */
  compatible: boolean;
  description: string | null;
}

/**
 * The plugins in the registry's catalog under `namespace`, whose name or description contains
 * `term` (any case), each with its latest version; repositories that hold no plugin are left out.
 */
export async function searchPlugins(
  client: OciClient,
  namespace: string,
  term: string | undefined,
  hostApiVersion: string,
): Promise<SearchHit[]> {
  const prefix = `${namespace}/`;
  const wanted = term?.toLowerCase();
  const hits: SearchHit[] = [];
  for (const repository of (await client.catalog()).filter((r) => r.startsWith(prefix)).sort()) {
    const tags = (await client.listTags(repository)).filter((t) => semver.valid(t) !== null);
    const latest = tags.sort(semver.rcompare)[0];
    if (latest === undefined) continue;
    const fetched = await client.getManifest(repository, latest);
    if (fetched.manifest.artifactType !== MEDIA_TYPES.plugin) continue;
    const config = await readConfig(client, repository, fetched, `${repository}:${latest}`);
    const description = config.description ?? null;
    const haystack = `${config.name}\n${description ?? ''}`.toLowerCase();
    if (wanted !== undefined && !haystack.includes(wanted)) continue;
    hits.push({
      name: config.name,
      repository,
      latest: config.version,
      kind: config.kind,
      apiVersion: config.apiVersion,
      compatible:
        semver.validRange(config.apiVersion) !== null && semver.satisfies(hostApiVersion, config.apiVersion),
      description,
    });
  }
  return hits;
}
