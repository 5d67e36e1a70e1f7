/**
 * `cc plugin mirror`'s engine: copy plugin artifacts — manifest, config and layer blobs, and the
 * signature artifacts that refer to them — from a registry to another registry or to an OCI
 * layout directory, by digest, so an air-gapped site installs and verifies exactly the same bytes.
 */
import semver from 'semver';
import { CliError } from '../errors/index.js';
import { MEDIA_TYPES } from './media-types.js';
import type { RegistryReader, RegistryWriter } from './oci-client.js';

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
  name: string;
  version: string;
  from: string;
  to: string;
  repository: string;
  digest: string;
  /** Digests of the signature artifacts copied with it. */
  signatures: string[];
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
  for (const blob of [manifest.config, ...manifest.layers]) {
    await dest.pushBlob(destRepository, blob, await source.getBlob(repository, blob));
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
  const name = destRepository.slice(destRepository.lastIndexOf('/') + 1);
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
  };
}
