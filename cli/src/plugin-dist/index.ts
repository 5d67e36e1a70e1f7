/**
 * Plugin distribution: plugin packages as OCI artifacts (docs/plugins.md), the registry client,
 * signatures, the plugin index, download progress, and the engines behind the `cc plugin`
 * distribution commands.
 */
export { isSha256Digest, sha256Digest } from './digest.js';
export {
  type InstallContext,
  type InstallResult,
  type InstallTarget,
  installFromLock,
  installPlugin,
  type LockSource,
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
export {
  type MirrorItem,
  type MirrorResult,
  mirrorPlugin,
  recordMirrored,
  versionsInRange,
} from './mirror.js';
export {
  type BlobProgressEvent,
  type FetchedManifest,
  isNotFound,
  OciClient,
  type OciClientOptions,
  type PushCondition,
  type RegistryReader,
  type RegistryWriter,
} from './oci-client.js';
export { ociLayoutTar } from './oci-layout.js';
export { OCI_LAYOUT_SCHEME, OciLayoutDir } from './oci-layout-dir.js';
export { type Blob, type PackedPlugin, packPlugin, readPackageManifest, tarFiles, toBlob } from './pack.js';
export {
  checkIndexEntry,
  closeNames,
  editDistance,
  encodeIndex,
  type FetchedIndex,
  INDEX_REPOSITORY,
  INDEX_TAG,
  type IndexUpdate,
  type IndexUpdateOptions,
  indexArtifact,
  indexRepositoryOf,
  type PluginIndex,
  type PluginIndexEntry,
  parseIndex,
  type Resolution,
  readPluginIndex,
  resolvePluginRepository,
  unknownName,
  updatePluginIndex,
} from './plugin-index.js';
export {
  type BarState,
  DownloadProgress,
  type DownloadProgressOptions,
  formatBytes,
  type ProgressStream,
  renderBlobDone,
  renderProgressBar,
} from './progress.js';
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
