/**
 * Manifest formats the registry accepts, and what it reads out of one: the blobs and manifests it
 * references (which must exist before it is accepted), its `subject` (for the referrers API) and
 * the `artifactType` its referrer descriptor carries.
 */
import { RegistryError } from './errors.js';
import { type Digest, parseDigest } from './references.js';

export const MEDIA_TYPES = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  /** OCI 1.1 release candidates' artifact manifest; dropped from 1.1 final, still pushed by older ORAS. */
  ociArtifact: 'application/vnd.oci.artifact.manifest.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  ociEmpty: 'application/vnd.oci.empty.v1+json',
} as const;

const IMAGE_MANIFESTS = new Set<string>([MEDIA_TYPES.ociManifest, MEDIA_TYPES.dockerManifest]);
const INDEXES = new Set<string>([MEDIA_TYPES.ociIndex, MEDIA_TYPES.dockerList]);
export const MANIFEST_MEDIA_TYPES: readonly string[] = [
  MEDIA_TYPES.ociManifest,
  MEDIA_TYPES.ociIndex,
  MEDIA_TYPES.dockerManifest,
  MEDIA_TYPES.dockerList,
  MEDIA_TYPES.ociArtifact,
];
const SCHEMA1 = /^application\/vnd\.docker\.distribution\.manifest\.v1\+(pretty)?jws$/;
/** Layers that are fetched from elsewhere (their `urls`), so a registry never holds them. */
const FOREIGN_LAYER =
  /^application\/vnd\.(oci\.image\.layer\.nondistributable\.|docker\.image\.rootfs\.foreign\.)/;

/** Manifests larger than this are refused: the spec asks registries to take at least 4 MiB. */
export const MANIFEST_MAX_BYTES = 4 * 1024 * 1024;

export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

export interface ParsedManifest {
  /** The media type it is stored and served with. */
  mediaType: string;
  /** Blobs that must be in the repository (config and layers, or an artifact's blobs). */
  blobs: Descriptor[];
  /** Manifests that must be in the repository (an index's entries). */
  manifests: Descriptor[];
  subject?: Descriptor;
  /** What the referrers API lists it as: `artifactType`, else an image's config media type. */
  artifactType?: string;
  annotations?: Record<string, string>;
}

const invalid = (message: string, detail?: unknown) =>
  new RegistryError(
    'MANIFEST_INVALID',
    `manifest invalid: ${message}`,
    detail === undefined ? {} : { detail },
  );

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The media type of a Content-Type header, without parameters. */
export function bareMediaType(contentType: string | undefined): string | undefined {
  const type = contentType?.split(';')[0]?.trim().toLowerCase();
  return type === '' ? undefined : type;
}

function annotations(value: unknown, where: string): Record<string, string> | undefined {
  if (value === undefined) return undefined;
  if (!isObject(value) || Object.values(value).some((v) => typeof v !== 'string'))
    throw invalid(`${where}.annotations must be an object of strings`);
  return value as Record<string, string>;
}

function descriptor(value: unknown, where: string): Descriptor {
  if (!isObject(value)) throw invalid(`${where} must be a descriptor object`);
  const { mediaType, digest, size, artifactType } = value;
  if (typeof mediaType !== 'string' || mediaType === '') throw invalid(`${where}.mediaType must be a string`);
  const parsed = typeof digest === 'string' ? parseDigest(digest) : undefined;
  if (!parsed) throw invalid(`${where}.digest is not a valid digest`, { digest: digest ?? null });
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0)
    throw invalid(`${where}.size must be a non-negative integer`);
  if (artifactType !== undefined && typeof artifactType !== 'string')
    throw invalid(`${where}.artifactType must be a string`);
  const notes = annotations(value.annotations, where);
  return {
    mediaType,
    digest: parsed,
    size,
    ...(artifactType === undefined ? {} : { artifactType }),
    ...(notes ? { annotations: notes } : {}),
  };
}

function descriptors(value: unknown, where: string, required: boolean): Descriptor[] {
  if (value === undefined && !required) return [];
  if (!Array.isArray(value)) throw invalid(`${where} must be an array of descriptors`);
  return value.map((entry, i) => descriptor(entry, `${where}[${i}]`));
}

/**
 * Parse and check a pushed manifest. The media type is the Content-Type when it names a manifest
 * format, else the body's own `mediaType`; when both are given they must agree.
 */
export function parseManifest(body: Buffer, contentType: string | undefined): ParsedManifest {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw invalid(`not JSON (${(error as Error).message})`);
  }
  if (!isObject(json)) throw invalid('not a JSON object');
  const header = bareMediaType(contentType);
  const own = json.mediaType;
  if (own !== undefined && typeof own !== 'string') throw invalid('mediaType must be a string');
  if (json.schemaVersion === 1 || (header !== undefined && SCHEMA1.test(header) && own === undefined))
    throw invalid('Docker schema 1 manifests are not supported; push an OCI or Docker schema 2 manifest');
  let mediaType: string | undefined;
  if (header !== undefined && MANIFEST_MEDIA_TYPES.includes(header)) mediaType = header;
  else if (own !== undefined && MANIFEST_MEDIA_TYPES.includes(own)) mediaType = own;
  if (mediaType === undefined)
    throw invalid(
      `unsupported media type ${JSON.stringify(header ?? own ?? null)}; supported: ${MANIFEST_MEDIA_TYPES.join(', ')}`,
    );
  if (own !== undefined && own !== mediaType)
    throw invalid(`the body's mediaType ${own} differs from the Content-Type ${mediaType}`);
  // The artifact manifest of the 1.1 release candidates has no schemaVersion.
  if (mediaType !== MEDIA_TYPES.ociArtifact && json.schemaVersion !== 2)
    throw invalid('schemaVersion must be 2');
  const artifactType = json.artifactType;
  if (artifactType !== undefined && (typeof artifactType !== 'string' || artifactType === ''))
    throw invalid('artifactType must be a non-empty string');
  const subject = json.subject === undefined ? undefined : descriptor(json.subject, 'subject');
  const notes = annotations(json.annotations, 'manifest');
  const common = {
    mediaType,
    ...(subject ? { subject } : {}),
    ...(notes ? { annotations: notes } : {}),
  };

  if (IMAGE_MANIFESTS.has(mediaType)) {
    const config = descriptor(json.config, 'config');
    const layers = descriptors(json.layers, 'layers', true);
    return {
      ...common,
      blobs: [config, ...layers.filter((layer) => !FOREIGN_LAYER.test(layer.mediaType))],
      manifests: [],
      artifactType: (artifactType as string | undefined) ?? config.mediaType,
    };
  }
  if (INDEXES.has(mediaType)) {
    return {
      ...common,
      blobs: [],
      manifests: descriptors(json.manifests, 'manifests', true),
      ...(artifactType === undefined ? {} : { artifactType: artifactType as string }),
    };
  }
  if (artifactType === undefined) throw invalid('an artifact manifest needs an artifactType');
  return {
    ...common,
    blobs: descriptors(json.blobs, 'blobs', false),
    manifests: [],
    artifactType: artifactType as string,
  };
}
