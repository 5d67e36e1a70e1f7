/**
 * A small OCI Distribution client for the tests: raw requests with credentials, the three ways to
 * push a blob, and synthetic images (random layers, so every test has content of its own).
 */
import { createHash, randomBytes } from 'node:crypto';

export const MEDIA = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociEmpty: 'application/vnd.oci.empty.v1+json',
  ociArtifact: 'application/vnd.oci.artifact.manifest.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
} as const;

export const sha256 = (data: Buffer | string) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

export interface Blob {
  mediaType: string;
  digest: string;
  size: number;
  data: Buffer;
}

export function blob(mediaType: string, data: Buffer): Blob {
  return { mediaType, digest: sha256(data), size: data.length, data };
}

export const descriptor = ({ mediaType, digest, size }: Blob) => ({ mediaType, digest, size });

export interface TestImage {
  config: Blob;
  layers: Blob[];
  /** The manifest's bytes, its digest and media type. */
  manifest: Blob;
}

/** An image with random layers; `docker: true` for a Docker schema 2 manifest. */
export function makeImage(
  options: { layers?: number; layerSize?: number; docker?: boolean; label?: string } = {},
): TestImage {
  const docker = options.docker ?? false;
  const layers = Array.from({ length: options.layers ?? 2 }, () =>
    blob(docker ? MEDIA.dockerLayer : MEDIA.ociLayer, randomBytes(options.layerSize ?? 2048)),
  );
  const config = blob(
    docker ? MEDIA.dockerConfig : MEDIA.ociConfig,
    Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        config: { Labels: { test: options.label ?? randomBytes(4).toString('hex') } },
        rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
      }),
    ),
  );
  const mediaType = docker ? MEDIA.dockerManifest : MEDIA.ociManifest;
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType,
      config: descriptor(config),
      layers: layers.map(descriptor),
    }),
  );
  return { config, layers, manifest: blob(mediaType, manifest) };
}

export type PushMode = 'post-put' | 'single-post' | 'chunked';

export class OciClient {
  constructor(
    readonly url: string,
    readonly authorization?: string,
  ) {}

  /** A request to `path` (absolute or relative to the registry) with the client's credentials. */
  fetch(path: string, init: RequestInit & { headers?: Record<string, string> } = {}): Promise<Response> {
    const headers: Record<string, string> = { ...init.headers };
    if (this.authorization && headers.authorization === undefined) headers.authorization = this.authorization;
    if (headers.authorization === '') delete headers.authorization;
    return fetch(new URL(path, this.url), { ...init, headers, redirect: 'manual' });
  }

  async startUpload(repository: string): Promise<string> {
    const response = await this.fetch(`/v2/${repository}/blobs/uploads/`, { method: 'POST' });
    if (response.status !== 202) throw new Error(`POST upload: ${response.status} ${await response.text()}`);
    return response.headers.get('location')!;
  }

  /** Push a blob (skipping nothing: the test decides) in one of the spec's ways. */
  async pushBlob(
    repository: string,
    data: Buffer,
    mode: PushMode = 'post-put',
    chunkSize = 1000,
  ): Promise<string> {
    const digest = sha256(data);
    if (mode === 'single-post') {
      const response = await this.fetch(`/v2/${repository}/blobs/uploads/?digest=${digest}`, {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream' },
        body: data,
      });
      if (response.status === 201) return digest;
      // The spec lets a registry answer a single POST with a session instead.
      if (response.status !== 202)
        throw new Error(`single POST: ${response.status} ${await response.text()}`);
      return this.finishUpload(response.headers.get('location')!, digest, data);
    }
    let location = await this.startUpload(repository);
    if (mode === 'post-put') return this.finishUpload(location, digest, data);
    let offset = 0;
    // All but the last chunk by PATCH; the last one rides on the closing PUT.
    while (data.length - offset > chunkSize) {
      const chunk = data.subarray(offset, offset + chunkSize);
      const response = await this.fetch(location, {
        method: 'PATCH',
        headers: {
          'content-type': 'application/octet-stream',
          'content-range': `${offset}-${offset + chunk.length - 1}`,
        },
        body: chunk,
      });
      if (response.status !== 202) throw new Error(`PATCH: ${response.status} ${await response.text()}`);
      location = response.headers.get('location')!;
      offset += chunk.length;
    }
    return this.finishUpload(location, digest, data.subarray(offset), offset);
  }

  async finishUpload(location: string, digest: string, rest: Buffer, offset?: number): Promise<string> {
    const url = new URL(location, this.url);
    url.searchParams.set('digest', digest);
    const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
    if (offset !== undefined && rest.length > 0)
      headers['content-range'] = `${offset}-${offset + rest.length - 1}`;
    const response = await this.fetch(url.toString(), { method: 'PUT', headers, body: rest });
    if (response.status !== 201) throw new Error(`PUT upload: ${response.status} ${await response.text()}`);
    return digest;
  }

  putManifest(repository: string, reference: string, body: Buffer, mediaType: string): Promise<Response> {
    return this.fetch(`/v2/${repository}/manifests/${reference}`, {
      method: 'PUT',
      headers: { 'content-type': mediaType },
      body,
    });
  }

  /** Push an image's blobs and its manifest as `reference`; returns the manifest digest. */
  async pushImage(
    repository: string,
    image: TestImage,
    reference: string,
    mode: PushMode = 'post-put',
  ): Promise<string> {
    for (const b of [...image.layers, image.config]) await this.pushBlob(repository, b.data, mode);
    const response = await this.putManifest(
      repository,
      reference,
      image.manifest.data,
      image.manifest.mediaType,
    );
    if (response.status !== 201) throw new Error(`PUT manifest: ${response.status} ${await response.text()}`);
    return response.headers.get('docker-content-digest') ?? image.manifest.digest;
  }

  /** Pull a manifest and every blob it names; returns the manifest and the blobs' bytes. */
  async pullImage(
    repository: string,
    reference: string,
  ): Promise<{ manifest: Buffer; mediaType: string; blobs: Buffer[] }> {
    const response = await this.fetch(`/v2/${repository}/manifests/${reference}`, {
      headers: { accept: [MEDIA.ociManifest, MEDIA.dockerManifest, MEDIA.ociIndex].join(', ') },
    });
    if (response.status !== 200)
      throw new Error(`GET manifest ${reference}: ${response.status} ${await response.text()}`);
    const manifest = Buffer.from(await response.arrayBuffer());
    const json = JSON.parse(manifest.toString()) as {
      config: { digest: string };
      layers: Array<{ digest: string }>;
    };
    const blobs: Buffer[] = [];
    for (const { digest } of [json.config, ...json.layers]) {
      const got = await this.fetch(`/v2/${repository}/blobs/${digest}`);
      if (got.status !== 200) throw new Error(`GET blob ${digest}: ${got.status} ${await got.text()}`);
      const data = Buffer.from(await got.arrayBuffer());
      if (sha256(data) !== digest) throw new Error(`blob ${digest} came back with other bytes`);
      blobs.push(data);
    }
    return { manifest, mediaType: response.headers.get('content-type') ?? '', blobs };
  }
}

/** The `code`s of an OCI error body. */
export async function errorCodes(response: Response): Promise<string[]> {
  const text = await response.text();
  try {
    return ((JSON.parse(text) as { errors?: Array<{ code: string }> }).errors ?? []).map((e) => e.code);
  } catch {
    return [`<not JSON: ${text.slice(0, 80)}>`];
  }
}

export function basicAuth(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}
