/**
 * Plugin distribution: plugin packages as OCI artifacts (docs/plugins.md), the registry client,
 * signatures, and the install engine behind `cc plugin pack|publish|keygen|install|remove`.
 */
export { isSha256Digest, sha256Digest } from './digest.js';
export {
  type InstallContext,
  type InstallResult,
  type InstallTarget,
  installFromLock,
  installPlugin,
  type RemoveResult,
  removePlugin,
} from './install.js';
export { type LinkResult, linkPlugin, type UnlinkResult, unlinkPlugin } from './link.js';
export { LOCK_FILE, type LockEntry, type LockFile, readLockFile } from './lock-file.js';
export {
  ANNOTATIONS,
  type Descriptor,
  EMPTY_CONFIG,
  MEDIA_TYPES,
  type OciManifest,
  type PluginArtifactConfig,
} from './media-types.js';
export { type MirrorItem, type MirrorResult, mirrorPlugin, versionsInRange } from './mirror.js';
export {
  type FetchedManifest,
  OciClient,
  type OciClientOptions,
  type RegistryReader,
  type RegistryWriter,
} from './oci-client.js';
export { ociLayoutTar } from './oci-layout.js';
export { OCI_LAYOUT_SCHEME, OciLayoutDir } from './oci-layout-dir.js';
export { type Blob, type PackedPlugin, packPlugin, readPackageManifest, tarFiles, toBlob } from './pack.js';
export { type PublishResult, publishPlugin, repositoryFor } from './publish.js';
export { type ArchiveEntry, readPackageArchive, writeEntries } from './safe-unpack.js';
export {
  EMPTY_CONFIG_DATA,
  generateSigningKeys,
  keyIdOf,
  readPrivateKey,
  readPublicKey,
  type SignatureArtifact,
  signManifest,
  verifySignature,
} from './signing.js';
export { loadTrustStore, TRUSTED_PUBLISHERS_FILE, type TrustedKey, type TrustStore } from './trust.js';
export { type UpdateResult, updatePlugins } from './update.js';
