/**
 * `cc plugin mirror`'s engine: copy plugin artifacts — manifest, config and layer blobs, and the
 * signature artifacts that refer to them — from a registry to another registry or to an OCI
 * layout directory, by digest, so an air-gapped site installs and verifies exactly the same bytes;
 * and what was copied into the destination's plugin index, so it resolves the same names.
 */
import semver from 'semver';
import { CliError } from '../errors/index.js';
import { MEDIA_TYPES, type PluginArtifactConfig } from './media-types.js';
import type { RegistryReader, RegistryWriter } from './oci-client.js';
import { type IndexUpdate, type PluginIndexEntry, updatePluginIndex } from './plugin-index.js';

/** One artifact to copy: by digest (from a lock file) or by tag (resolved from a range). */
export interface MirrorItem {
  source: RegistryReader;
  repository: string;
  /** The repository in the destination (the same, or the destination's namespace). */
  destRepository: string;
  tag: string;
  digest?: string | undefined;
}

export interface MirrorResult {
  /** The plugin's name (its config's). */
  name: string;
  version: string;
  from: string;
  to: string;
  repository: string;
  digest: string;
  /** Digests of the signature artifacts copied with it. */
  signatures: string[];
  /** The plugin's description (its config's), for the destination's index. */
  description: string | null;
}

/** Every version of `name` in `repository` whose tag satisfies `range` (every version without one). */
export async function versionsInRange(
  source: RegistryReader,
  repository: string,
  name: string,
  range: string | undefined,
): Promise<string[]> {
  const wanted = range ?? '*';
  if (semver.validRange(wanted) === null) {
    throw new CliError(
      'CC_E_CLI_USAGE',
      `${JSON.stringify(wanted)} is not a semver range (e.g. ^2 or 2.7.x)`,
    );
  }
  const tags = (await source.listTags(repository)).filter(
    (tag) => semver.valid(tag) !== null && semver.satisfies(tag, wanted),
  );
  if (tags.length === 0) {
    throw new CliError(
      'CC_E_CLI_PLUGIN_NO_MATCHING_VERSION',
      `no version of ${name} in ${source.url}/${repository} satisfies ${wanted}; nothing was mirrored`,
      { details: { plugin: name, range: wanted } },
    );
  }
  return tags.sort(semver.compare);
}

export async function mirrorPlugin(
  item: MirrorItem,
  dest: RegistryWriter,
  log: (line: string) => void,
): Promise<MirrorResult> {
  const { source, repository, destRepository } = item;
  const fetched = await source.getManifest(repository, item.digest ?? item.tag);
  const { manifest } = fetched;
  if (manifest.artifactType !== MEDIA_TYPES.plugin) {
    throw new CliError(
      'CC_E_CLI_PLUGIN_PACKAGE_INVALID',
      `${source.url}/${repository}:${item.tag} is not a Conveyor plugin artifact; nothing of it was mirrored`,
    );
  }
  // Blobs first, then the manifest that names them, then the signatures that name the manifest.
  let config: Partial<PluginArtifactConfig> = {};
  for (const blob of [manifest.config, ...manifest.layers]) {
    const data = await source.getBlob(repository, blob);
    if (blob === manifest.config) config = parseConfig(data);
    await dest.pushBlob(destRepository, blob, data);
  }
  await dest.pushManifest(
    destRepository,
    item.tag,
    fetched.data,
    manifest.mediaType ?? MEDIA_TYPES.ociManifest,
  );
  const signatures: string[] = [];
  for (const referrer of await source.referrers(repository, fetched.digest, MEDIA_TYPES.signature)) {
    const signature = await source.getManifest(repository, referrer.digest);
    if (signature.manifest.subject?.digest !== fetched.digest) continue;
    for (const blob of [signature.manifest.config, ...signature.manifest.layers]) {
      await dest.pushBlob(destRepository, blob, await source.getBlob(repository, blob));
    }
    await dest.pushReferrer(
      destRepository,
      {
        mediaType: signature.manifest.mediaType ?? MEDIA_TYPES.ociManifest,
        digest: signature.digest,
        size: signature.data.length,
        artifactType: MEDIA_TYPES.signature,
        ...(referrer.annotations === undefined ? {} : { annotations: referrer.annotations }),
      },
      signature.data,
    );
    signatures.push(signature.digest);
  }
  const name = config.name ?? destRepository.slice(destRepository.lastIndexOf('/') + 1);
  log(
    `mirrored ${repository}:${item.tag} (${fetched.digest}, ${signatures.length} signature(s)) to ${dest.url}/${destRepository}`,
  );
  return {
    name,
    version: item.tag,
    from: source.url,
    to: dest.url,
    repository: destRepository,
    digest: fetched.digest,
    signatures,
    description: config.description ?? null,
  };
}

function parseConfig(data: Buffer): Partial<PluginArtifactConfig> {
  try {
    const config = JSON.parse(data.toString('utf8')) as Partial<PluginArtifactConfig>;
    return typeof config === 'object' && config !== null ? config : {};
  } catch {
    // The bytes are copied as they are; install checks them on the other side.
    return {};
  }
}

/**
 * Records what was mirrored in the destination's plugin index (`<namespace>/index`): each name →
 * the repository it was copied to, with the source index's description (else the plugin's), so
 * the mirror resolves the same names. Entries for other names are kept. Returns null when nothing
 * was mirrored.
 */
export async function recordMirrored(
  dest: RegistryReader & RegistryWriter,
  namespace: string,
  results: MirrorResult[],
  descriptions: Map<string, string>,
  log: (line: string) => void,
): Promise<IndexUpdate | null> {
  if (results.length === 0) return null;
  const entries = new Map<string, PluginIndexEntry>();
  for (const r of results) {
    const description = descriptions.get(r.name) ?? r.description ?? undefined;
    entries.set(r.name, { repository: r.repository, ...(description ? { description } : {}) });
  }
  const update = await updatePluginIndex(
    dest,
    namespace,
    (index) => {
      for (const [name, entry] of entries) index.plugins[name] = entry;
      return index;
    },
    { log },
  );
  log(
    `${update.changed ? 'recorded' : 'already recorded'} ${[...entries.keys()].join(', ')} in the plugin index ${dest.url}/${update.repository}`,
  );
  return update;
}
