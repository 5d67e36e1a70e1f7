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
} as const;

export const isIndex = (mediaType: string) => mediaType === MEDIA.ociIndex || mediaType === MEDIA.dockerList;
export const isManifest = (mediaType: string) =>
  mediaType === MEDIA.ociManifest || mediaType === MEDIA.dockerManifest;

export interface OciDescriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: { os: string; architecture: string; variant?: string };
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

/** The parts of an image config the runtime honours. */
export interface OciImageConfig {
  architecture?: string;
  os?: string;
  config?: { Env?: string[]; User?: string; WorkingDir?: string };
  rootfs: { type: string; diff_ids: string[] };
}

export const sha256 = (data: string | Uint8Array) =>
  `sha256:${createHash('sha256').update(data).digest('hex')}`;

/** The chain ids of a layer stack, as containerd names committed snapshots (identity.ChainIDs). */
export function chainIds(diffIds: readonly string[]): string[] {
  const chain: string[] = [];
  for (const diffId of diffIds) {
    const parent = chain[chain.length - 1];
    chain.push(parent === undefined ? diffId : sha256(`${parent} ${diffId}`));
  }
  return chain;
}

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

/** Pick this machine's manifest from an index; one without platforms is taken as ours. */
export function pickManifest(index: OciIndex): OciDescriptor | undefined {
  const manifests = index.manifests.filter((m) => isManifest(m.mediaType) || isIndex(m.mediaType));
  const arch = ociArchitecture();
  return (
    manifests.find((m) => m.platform?.os === 'linux' && m.platform.architecture === arch) ??
    manifests.find((m) => !m.platform)
  );
}

const DIGEST = /^sha256:[a-f0-9]{64}$/;

export function assertDigest(digest: string, where: string): void {
  if (!DIGEST.test(digest)) throw new TypeError(`${where}: ${JSON.stringify(digest)} is not a sha256 digest`);
}
