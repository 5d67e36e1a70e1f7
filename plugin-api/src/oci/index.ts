/**
 * @conveyor/plugin-api/oci: one OCI Distribution client and the image formats around it, for every
 * plugin that pulls or pushes images (a runtime, the registry-image resource). References parsed as
 * Docker does, token and Basic authentication, manifests and blobs fetched with their digests
 * checked, monolithic blob uploads and manifest pushes, and image layouts (OCI or docker save) read
 * from disk. Failures carry the plugin's own code prefix.
 */
export { isOciFailure, OCI_FAILURES, type OciFailure, ociError } from './errors.js';
export {
  extractImageArchive,
  type ImageLayout,
  type ImageLayoutOptions,
  openImageLayout,
} from './image-layout.js';
export {
  CONTAINERD_NAME_ANNOTATION,
  isDigest,
  isIndex,
  isManifest,
  MEDIA,
  type OciDescriptor,
  type OciImageConfig,
  type OciIndex,
  type OciManifest,
  type OciPlatform,
  ociArchitecture,
  pickManifest,
  REF_NAME_ANNOTATION,
  sha256,
} from './media.js';
export {
  canonicalName,
  type ImageReference,
  isLoopbackHost,
  isTag,
  parseReference,
} from './reference.js';
export { type BlobBody, RegistryClient, type RegistryOptions } from './registry-client.js';
