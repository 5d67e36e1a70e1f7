/**
 * The media types of Conveyor's plugin artifacts (docs/plugins.md): one OCI image manifest per
 * plugin version, with a small config blob and the package as one gzipped tar layer, and detached
 * signatures that refer to it through the referrers API; and the plugin index of a namespace, one
 * manifest whose layer maps friendly names to repositories.
 */
export const MEDIA_TYPES = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociEmpty: 'application/vnd.oci.empty.v1+json',
  plugin: 'application/vnd.conveyor.plugin.v1+json',
  pluginConfig: 'application/vnd.conveyor.plugin.config.v1+json',
  pluginLayer: 'application/vnd.conveyor.plugin.layer.v1.tar+gzip',
  signature: 'application/vnd.conveyor.plugin.signature.v1',
  signatureLayer: 'application/vnd.conveyor.plugin.signature.v1.ed25519',
  /** The plugin index: friendly names to repositories (plugin-index.ts). */
  pluginIndex: 'application/vnd.conveyor.plugin-index.v1+json',
  pluginIndexLayer: 'application/vnd.conveyor.plugin-index.layer.v1+json',
} as const;

/** Annotations Conveyor writes on its manifests. */
export const ANNOTATIONS = {
  title: 'org.opencontainers.image.title',
  version: 'org.opencontainers.image.version',
  /** On a signature manifest: the id of the key that made it (see keyIdOf). */
  keyId: 'dev.conveyor.plugin.signature.key-id',
} as const;

/** An OCI content descriptor. */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

/** The plugin config blob: what install reads to choose a version without downloading the package. */
export interface PluginArtifactConfig {
  name: string;
  version: string;
  kind: string;
  apiVersion: string;
  /** sha256 of the uncompressed package tar (the layer's diff id). */
  packageDigest: string;
  description?: string;
}

/** The parts of an OCI image manifest Conveyor reads and writes. */
export interface OciManifest {
  schemaVersion: 2;
  mediaType: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

/** The empty config blob (`{}`) of artifacts that have nothing to configure. */
export const EMPTY_CONFIG = {
  mediaType: MEDIA_TYPES.ociEmpty,
  digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
  size: 2,
} as const satisfies Descriptor;
