import type { KeyObject } from 'node:crypto';
import { ANNOTATIONS, EMPTY_CONFIG, MEDIA_TYPES } from './media-types.js';
import type { OciClient } from './oci-client.js';
import { type PackedPlugin, packPlugin } from './pack.js';
import { EMPTY_CONFIG_DATA, signManifest } from './signing.js';

export interface PublishResult {
  name: string;
  version: string;
  repository: string;
  /** The plugin manifest's digest: what lock files record. */
  digest: string;
  signature?: { digest: string; keyId: string };
}

/** The repository of a plugin under a namespace: `<namespace>/<name>`. */
export function repositoryFor(namespace: string, name: string): string {
  return namespace === '' ? name : `${namespace.replace(/^\/+|\/+$/g, '')}/${name}`;
}

/**
 * Pushes a package as `<repository>:<version>`: layer and config blobs, then the manifest; with a
 * key, then a signature artifact whose subject is that manifest.
 */
export async function publishPlugin(options: {
  /** A package directory, or what packPlugin made of one. */
  from: string | PackedPlugin;
  client: OciClient;
  repository: (name: string) => string;
  signKey?: KeyObject | undefined;
}): Promise<PublishResult> {
  const packed = typeof options.from === 'string' ? await packPlugin(options.from) : options.from;
  const { client } = options;
  const repository = options.repository(packed.manifest.name);
  for (const blob of [packed.layer, packed.config])
    await client.pushBlob(repository, blob.descriptor, blob.data);
  const digest = await client.pushManifest(
    repository,
    packed.manifest.version,
    packed.artifact.data,
    packed.artifact.descriptor.mediaType,
  );
  const result: PublishResult = {
    name: packed.manifest.name,
    version: packed.manifest.version,
    repository,
    digest,
  };
  if (options.signKey !== undefined) {
    const signature = signManifest(packed.artifact.descriptor, options.signKey);
    await client.pushBlob(repository, EMPTY_CONFIG, EMPTY_CONFIG_DATA);
    await client.pushBlob(repository, signature.layer.descriptor, signature.layer.data);
    const signatureDigest = await client.pushReferrer(
      repository,
      {
        ...signature.manifest.descriptor,
        artifactType: MEDIA_TYPES.signature,
        annotations: { [ANNOTATIONS.keyId]: signature.keyId },
      },
      signature.manifest.data,
    );
    result.signature = { digest: signatureDigest, keyId: signature.keyId };
  }
  return result;
}
