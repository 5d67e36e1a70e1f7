import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ociError } from './errors.js';
import { MANIFEST_ACCEPT, MEDIA, type OciDescriptor, sha256 } from './media.js';
import { DOCKER_HUB, type ImageReference } from './reference.js';

export interface RegistryOptions {
  /** The plugin's error code prefix: `CONTAINERD` makes `CONTAINERD_REGISTRY_UNAUTHORIZED`. */
  codePrefix: string;
  username?: string | undefined;
  password?: string | undefined;
  /** Plain HTTP (a registry on loopback or a trusted network without TLS). */
  insecure?: boolean | undefined;
  signal?: AbortSignal | undefined;
}

export interface TagListOptions {
  /** Tags per page (`?n=`); the registry may answer fewer. */
  pageSize?: number | undefined;
}

/** A blob's bytes for an upload: made again if the registry asks for credentials first. */
export type BlobBody = () => Uint8Array | AsyncIterable<Uint8Array>;

interface FetchOptions {
  method?: string;
  accept?: string;
  headers?: Record<string, string>;
  body?: BlobBody;
  /** Answer a 404 instead of throwing `IMAGE_NOT_FOUND`. */
  allowNotFound?: boolean;
}

/**
 * A client of the OCI Distribution API for one repository: resolves a tag to a manifest digest,
 * fetches manifests and blobs, and pushes them (monolithic uploads, blobs the registry has are
 * skipped by the caller with hasBlob). Authenticates as registries ask in `WWW-Authenticate`: Basic
 * with the credentials, or Bearer with a token from the realm (fetched with the credentials when
 * given, for the scope the challenge names, so a push gets a push token). Credentials never appear
 * in its errors.
 */
export class RegistryClient {
  readonly ref: ImageReference;
  readonly #options: RegistryOptions;
  readonly #base: string;
  #authorization: string | undefined;

  constructor(ref: ImageReference, options: RegistryOptions) {
    this.ref = ref;
    this.#options = options;
    const host = ref.host === DOCKER_HUB ? 'registry-1.docker.io' : ref.host;
    this.#base = `${options.insecure ? 'http' : 'https'}://${host}/v2/${ref.repository}`;
  }

  /** The descriptor the reference points at now (a HEAD where the registry gives the digest). */
  async resolve(reference = this.ref.digest ?? this.ref.tag ?? 'latest'): Promise<OciDescriptor> {
    const head = await this.#fetch(`${this.#base}/manifests/${reference}`, {
      method: 'HEAD',
      accept: MANIFEST_ACCEPT,
    });
    const digest = head.headers.get('docker-content-digest');
    const mediaType = head.headers.get('content-type')?.split(';')[0]?.trim();
    const size = Number(head.headers.get('content-length'));
    if (digest && mediaType && Number.isFinite(size) && size > 0) return { digest, mediaType, size };
    const { descriptor } = await this.manifest(reference);
    return descriptor;
  }

  /** Whether a manifest exists under a tag or digest (a 404 is `false`, not an error). */
  async hasManifest(reference: string): Promise<boolean> {
    const head = await this.#fetch(`${this.#base}/manifests/${reference}`, {
      method: 'HEAD',
      accept: MANIFEST_ACCEPT,
      allowNotFound: true,
    });
    return head.status !== 404;
  }

  /**
   * Every tag of the repository, in the registry's order (Distribution sorts them lexically),
   * following the `Link: <…>; rel="next"` pages. `pageSize` asks for pages of that many (`?n=`);
   * without it the registry picks. A repository that does not exist is `IMAGE_NOT_FOUND`.
   */
  async tags(options: TagListOptions = {}): Promise<string[]> {
    const first = new URL(`${this.#base}/tags/list`);
    if (options.pageSize !== undefined) {
      if (!Number.isInteger(options.pageSize) || options.pageSize < 1) {
        throw new TypeError('options.pageSize must be a positive integer');
      }
      first.searchParams.set('n', String(options.pageSize));
    }
    const tags: string[] = [];
    const seen = new Set<string>();
    for (let url: string | undefined = first.href; url !== undefined; ) {
      // A registry that links a page to itself (or back) would otherwise be listed forever.
      if (seen.has(url)) throw this.#failure(`the tag list links back to ${url.split('?')[1] ?? url}`);
      seen.add(url);
      const response = await this.#fetch(url, { accept: 'application/json' });
      const body = (await response.json().catch(() => undefined)) as { tags?: unknown } | undefined;
      if (!body || (body.tags !== null && body.tags !== undefined && !Array.isArray(body.tags))) {
        throw this.#failure(`GET ${url.split('?')[0]} answered something that is not a tag list`);
      }
      // Distribution answers `"tags": null` for a repository whose tags were all deleted.
      for (const tag of (body.tags ?? []) as unknown[]) if (typeof tag === 'string') tags.push(tag);
      url = nextLink(response.headers.get('link'), url);
    }
    return tags;
  }

  /** A manifest or index by tag or digest, with its descriptor; a digest is checked. */
  async manifest(reference: string): Promise<{ descriptor: OciDescriptor; data: Buffer }> {
    const response = await this.#fetch(`${this.#base}/manifests/${reference}`, { accept: MANIFEST_ACCEPT });
    const data = Buffer.from(await response.arrayBuffer());
    const digest = sha256(data);
    if (reference.startsWith('sha256:') && digest !== reference) throw this.#corrupt(reference, digest);
    const mediaType =
      response.headers.get('content-type')?.split(';')[0]?.trim() ??
      (JSON.parse(data.toString('utf8')) as { mediaType?: string }).mediaType ??
      MEDIA.ociManifest;
    return { descriptor: { mediaType, digest, size: data.length }, data };
  }

  /** A blob's bytes as they arrive, unchecked: the caller checks the digest (or containerd does). */
  async blob(descriptor: OciDescriptor): Promise<AsyncIterable<Uint8Array>> {
    const response = await this.#fetch(`${this.#base}/blobs/${descriptor.digest}`, {});
    if (!response.body) throw this.#failure(`blob ${descriptor.digest} came without a body`);
    return response.body as unknown as AsyncIterable<Uint8Array>;
  }

  /** A small blob (a config), whole, its digest checked. */
  async readBlob(descriptor: OciDescriptor): Promise<Buffer> {
    const chunks: Uint8Array[] = [];
    for await (const chunk of await this.blob(descriptor)) chunks.push(chunk);
    const data = Buffer.concat(chunks);
    const digest = sha256(data);
    if (digest !== descriptor.digest) throw this.#corrupt(descriptor.digest, digest);
    return data;
  }

  /** A blob into a file, its digest and size checked on the way; the file is removed if they differ. */
  async blobToFile(descriptor: OciDescriptor, path: string): Promise<void> {
    const hash = createHash('sha256');
    let size = 0;
    const tap = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        hash.update(chunk);
        size += chunk.length;
        done(null, chunk);
      },
    });
    try {
      await pipeline(Readable.from(await this.blob(descriptor)), tap, createWriteStream(path));
      const digest = `sha256:${hash.digest('hex')}`;
      if (digest !== descriptor.digest) throw this.#corrupt(descriptor.digest, digest);
      if (size !== descriptor.size) {
        throw ociError(
          this.#options.codePrefix,
          'IMAGE_CORRUPT',
          `${this.#name()}: blob ${descriptor.digest} is ${size} bytes, its descriptor says ${descriptor.size}`,
        );
      }
    } catch (error) {
      await rm(path, { force: true });
      throw error;
    }
  }

  /** Whether the repository already has a blob (so an upload of it can be skipped). */
  async hasBlob(digest: string): Promise<boolean> {
    const head = await this.#fetch(`${this.#base}/blobs/${digest}`, { method: 'HEAD', allowNotFound: true });
    return head.status !== 404;
  }

  /**
   * Upload a blob in one request: POST opens the upload, PUT with `?digest=` sends the bytes and
   * commits them; the registry refuses bytes whose digest is not the one named.
   */
  async pushBlob(descriptor: OciDescriptor, body: BlobBody): Promise<void> {
    const started = await this.#fetch(`${this.#base}/blobs/uploads/`, { method: 'POST' });
    await started.arrayBuffer().catch(() => undefined);
    const location = started.headers.get('location');
    if (started.status !== 202 || !location) {
      throw this.#failure(`starting an upload answered ${started.status} without a location`);
    }
    const url = new URL(location, this.#base);
    url.searchParams.set('digest', descriptor.digest);
    const done = await this.#fetch(url.href, {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(descriptor.size) },
      body,
    });
    await done.arrayBuffer().catch(() => undefined);
  }

  /** Put a manifest (or index) under a tag or its digest; answers the digest the registry gave it. */
  async pushManifest(reference: string, mediaType: string, data: Uint8Array): Promise<string> {
    const response = await this.#fetch(`${this.#base}/manifests/${reference}`, {
      method: 'PUT',
      headers: { 'content-type': mediaType },
      body: () => data,
    });
    await response.arrayBuffer().catch(() => undefined);
    return response.headers.get('docker-content-digest') ?? sha256(data);
  }

  async #fetch(url: string, options: FetchOptions): Promise<Response> {
    const method = options.method ?? 'GET';
    const request = () => {
      const body = options.body?.();
      return fetch(url, {
        method,
        headers: {
          ...options.headers,
          ...(options.accept ? { accept: options.accept } : {}),
          ...(this.#authorization ? { authorization: this.#authorization } : {}),
        },
        ...(body === undefined
          ? {}
          : body instanceof Uint8Array
            ? { body }
            : // A stream goes out as it is read; fetch needs `duplex` for that.
              { body: Readable.toWeb(Readable.from(body)) as ReadableStream, duplex: 'half' }),
        redirect: 'follow',
        signal: this.#options.signal ?? null,
      }).catch((error: unknown) => {
        if (this.#options.signal?.aborted) throw error;
        throw ociError(
          this.#options.codePrefix,
          'REGISTRY_UNREACHABLE',
          `cannot reach ${this.ref.host} for ${this.ref.repository} (${method} ${url}: ${describeCause(error)}); check the registry host and port, that it is running, and whether it speaks HTTPS or plain HTTP (insecure)`,
          { cause: error },
        );
      });
    };
    let response = await request();
    if (response.status === 401) {
      await response.arrayBuffer().catch(() => undefined);
      this.#authorization = await this.#authenticate(response.headers.get('www-authenticate') ?? '');
      response = await request();
    }
    if (response.status === 401 || response.status === 403) {
      await response.arrayBuffer().catch(() => undefined);
      throw ociError(
        this.#options.codePrefix,
        'REGISTRY_UNAUTHORIZED',
        `${this.ref.host} refused ${method === 'GET' || method === 'HEAD' ? 'access to' : 'a push to'} ${this.ref.repository} (${response.status}); check the username and password`,
      );
    }
    if (response.status === 404 && !options.allowNotFound) {
      await response.arrayBuffer().catch(() => undefined);
      throw ociError(
        this.#options.codePrefix,
        'IMAGE_NOT_FOUND',
        `${this.ref.host} has no ${url.slice(url.indexOf('/v2/') + 4).split('?')[0]}; check the repository and tag`,
      );
    }
    if (response.status === 400 && method === 'PUT' && url.includes('/blobs/uploads/')) {
      const text = await response.text().catch(() => '');
      throw ociError(
        this.#options.codePrefix,
        'IMAGE_CORRUPT',
        `${this.#name()} refused the upload of a blob (${summary(text)}): its bytes do not match its digest`,
      );
    }
    if (!response.ok && response.status !== 404) {
      const text = await response.text().catch(() => '');
      throw this.#failure(`${method} ${url.split('?')[0]} answered ${response.status} ${summary(text)}`);
    }
    return response;
  }

  async #authenticate(challenge: string): Promise<string> {
    const scheme = challenge.split(' ')[0]?.toLowerCase();
    const params = Object.fromEntries(
      [...challenge.matchAll(/(\w+)="([^"]*)"/g)].map(([, key, value]) => [key?.toLowerCase(), value]),
    ) as Record<string, string | undefined>;
    const { username, password } = this.#options;
    const basic =
      username !== undefined
        ? `Basic ${Buffer.from(`${username}:${password ?? ''}`).toString('base64')}`
        : undefined;
    if (scheme === 'basic') {
      if (!basic) throw this.#needsCredentials();
      return basic;
    }
    if (scheme !== 'bearer' || !params.realm)
      throw this.#failure(`unsupported authentication challenge ${JSON.stringify(challenge)}`);
    const tokenUrl = new URL(params.realm);
    if (params.service) tokenUrl.searchParams.set('service', params.service);
    tokenUrl.searchParams.set('scope', params.scope ?? `repository:${this.ref.repository}:pull`);
    const response = await fetch(tokenUrl, {
      headers: basic ? { authorization: basic } : {},
      signal: this.#options.signal ?? null,
    }).catch((error: unknown) => {
      throw ociError(
        this.#options.codePrefix,
        'REGISTRY_UNREACHABLE',
        `cannot reach the token service ${tokenUrl.origin} of ${this.ref.host}: ${describeCause(error)}`,
        { cause: error },
      );
    });
    if (response.status === 401 || response.status === 403) {
      if (!basic) throw this.#needsCredentials();
      throw ociError(
        this.#options.codePrefix,
        'REGISTRY_UNAUTHORIZED',
        `${tokenUrl.host} refused the credentials for ${this.ref.repository}; check the username and password`,
      );
    }
    if (!response.ok) throw this.#failure(`the token service ${tokenUrl.origin} answered ${response.status}`);
    const body = (await response.json()) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (!token) throw this.#failure(`the token service ${tokenUrl.origin} sent no token`);
    return `Bearer ${token}`;
  }

  #name(): string {
    return `${this.ref.host}/${this.ref.repository}`;
  }

  #needsCredentials() {
    return ociError(
      this.#options.codePrefix,
      'REGISTRY_UNAUTHORIZED',
      `${this.ref.host} wants credentials for ${this.ref.repository}; give a username and password`,
    );
  }

  #corrupt(expected: string, actual: string) {
    return ociError(
      this.#options.codePrefix,
      'IMAGE_CORRUPT',
      `${this.#name()}: asked for ${expected}, received content with digest ${actual}`,
    );
  }

  #failure(message: string, cause?: unknown) {
    return ociError(this.#options.codePrefix, 'REGISTRY_FAILED', `${this.#name()}: ${message}`, { cause });
  }
}

/** The `rel="next"` target of a `Link` header (RFC 8288), resolved against the page it came with. */
function nextLink(header: string | null, from: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(',')) {
    const match = /^\s*<([^>]*)>\s*;(.*)$/.exec(part);
    if (match?.[1] !== undefined && /(?:^|;)\s*rel="?next"?\s*(?:;|$)/i.test(match[2] ?? '')) {
      return new URL(match[1], from).href;
    }
  }
  return undefined;
}

function describeCause(error: unknown): string {
  const cause = (error as { cause?: unknown }).cause;
  if (cause instanceof Error) return cause.message;
  return error instanceof Error ? error.message : String(error);
}

/** The first line of a registry's error body, short enough for a message. */
function summary(text: string): string {
  const line = text.trim().split('\n')[0] ?? '';
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}
