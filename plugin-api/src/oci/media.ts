import { createHash } from 'node:crypto';

/** The OCI and Docker media types an image may come in. */
export const MEDIA = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
} as const;

/** What a manifest request accepts: every index and manifest type above. */
export const MANIFEST_ACCEPT = [
  MEDIA.ociIndex,
  MEDIA.ociManifest,
  MEDIA.dockerList,
  MEDIA.dockerManifest,
].join(', ');

export const isIndex = (mediaType: string) => mediaType === MEDIA.ociIndex || mediaType === MEDIA.dockerList;
export const isManifest = (mediaType: string) =>
  mediaType === MEDIA.ociManifest || mediaType === MEDIA.dockerManifest;

export interface OciPlatform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface OciDescriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: OciPlatform;
}

export interface OciIndex {
  schemaVersion: number;
  mediaType?: string;
  manifests: OciDescriptor[];
}

export interface OciManifest {
  schemaVersion: number;
  mediaType?: string;
  config: OciDescriptor;
  layers: OciDescriptor[];
}

/** The parts of an image config runtimes and resources read. */
export interface OciImageConfig {
  architecture?: string;
  os?: string;
  config?: { Env?: string[]; User?: string; WorkingDir?: string };
  rootfs: { type: string; diff_ids: string[] };
}

/** The annotation an OCI layout's index.json names an image by (`latest`, `busybox:latest`). */
export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';
/** The annotation containerd names an image by in a layout it exports (`docker.io/library/a:b`). */
export const CONTAINERD_NAME_ANNOTATION = 'io.containerd.image.name';

export const sha256 = (data: string | Uint8Array) =>
  `sha256:${createHash('sha256').update(data).digest('hex')}`;

/** The OCI architecture of this machine. */
export function ociArchitecture(): string {
  const map: Record<string, string> = {
    x64: 'amd64',
    ia32: '386',
    arm64: 'arm64',
    arm: 'arm',
    s390x: 's390x',
  };
  return map[process.arch] ?? process.arch;
}

/**
 * Pick a platform's manifest from an index (by default linux on this machine's architecture); one
 * without a platform is taken as anyone's.
 */
export function pickManifest(
  index: OciIndex,
  platform: Partial<OciPlatform> = {},
): OciDescriptor | undefined {
  const manifests = index.manifests.filter((m) => isManifest(m.mediaType) || isIndex(m.mediaType));
  const os = platform.os ?? 'linux';
  const architecture = platform.architecture ?? ociArchitecture();
  const matching = manifests.filter((m) => m.platform?.os === os && m.platform.architecture === architecture);
  return (
    (platform.variant ? matching.find((m) => m.platform?.variant === platform.variant) : undefined) ??
    matching[0] ??
    manifests.find((m) => !m.platform)
  );
}

const DIGEST = /^sha256:[a-f0-9]{64}$/;

export const isDigest = (digest: string) => DIGEST.test(digest);
