import { PluginError } from '@conveyor/plugin-api';
import { MEDIA, type OciDescriptor, sha256 } from './oci.js';

/** An image reference taken apart: `host/repository:tag` or `host/repository@digest`. */
export interface ImageReference {
  /** The registry host as the reference names it (`docker.io` when it names none). */
  host: string;
  repository: string;
  tag?: string;
  digest?: string;
}

const DEFAULT_HOST = 'docker.io';

export function parseReference(reference: string): ImageReference {
  const match =
    /^(?:([^/]+)\/)?([a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*)(?::([\w][\w.-]{0,127}))?(?:@(sha256:[a-f0-9]{64}))?$/.exec(
      reference,
    );
  if (!match) throw badReference(reference);
  let [, first, rest = '', tag, digest] = match;
  // The first part names a host only when it looks like one; `library/busybox` is a repository.
  if (first !== undefined && !/[.:]/.test(first) && first !== 'localhost') {
    rest = `${first}/${rest}`;
    first = undefined;
  }
  if (/[A-Z]/.test(rest)) throw badReference(reference);
  const host = first ?? DEFAULT_HOST;
  const repository = host === DEFAULT_HOST && !rest.includes('/') ? `library/${rest}` : rest;
  return {
    host,
    repository,
    ...(tag ? { tag } : {}),
    ...(digest ? { digest } : {}),
    ...(!tag && !digest ? { tag: 'latest' } : {}),
  };
}

/** The name containerd keeps the image under: `host/repository:tag` (or `@digest`). */
export function canonicalName(ref: ImageReference): string {
  return `${ref.host}/${ref.repository}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}

function badReference(reference: string): PluginError {
  return new PluginError(
    'CONTAINERD_BAD_IMAGE_REFERENCE',
    `${JSON.stringify(reference)} is not an image reference; write it as [host[:port]/]repository[:tag][@sha256:digest]`,
  );
}

const MANIFEST_ACCEPT = [MEDIA.ociIndex, MEDIA.ociManifest, MEDIA.dockerList, MEDIA.dockerManifest].join(
  ', ',
);

export interface RegistryOptions {
  username?: string | undefined;
  password?: string | undefined;
  /** Plain HTTP (a registry on loopback or a trusted network without TLS). */
  insecure?: boolean | undefined;
  signal?: AbortSignal | undefined;
}

/**
 * A client of the OCI Distribution API for one repository: resolves a tag to a manifest digest,
 * fetches manifests and blobs. Authenticates as registries ask in `WWW-Authenticate`: Basic with the
 * credentials, or Bearer with a token from the realm (fetched with the credentials when given).
 */
export class RegistryClient {
  readonly ref: ImageReference;
  readonly #options: RegistryOptions;
  readonly #base: string;
  #authorization: string | undefined;

  constructor(ref: ImageReference, options: RegistryOptions = {}) {
    this.ref = ref;
    this.#options = options;
    const host = ref.host === DEFAULT_HOST ? 'registry-1.docker.io' : ref.host;
    this.#base = `${options.insecure ? 'http' : 'https'}://${host}/v2/${ref.repository}`;
  }

  /** The descriptor the reference points at now (a HEAD where the registry gives the digest). */
  async resolve(): Promise<OciDescriptor> {
    const reference = this.ref.digest ?? this.ref.tag ?? 'latest';
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

  /** A blob's bytes as they arrive; containerd checks the digest when the write commits. */
  async blob(descriptor: OciDescriptor): Promise<AsyncIterable<Uint8Array>> {
    const response = await this.#fetch(`${this.#base}/blobs/${descriptor.digest}`, {});
    if (!response.body) throw this.#failure(`blob ${descriptor.digest} came without a body`);
    return response.body as unknown as AsyncIterable<Uint8Array>;
  }

  async #fetch(url: string, options: { method?: string; accept?: string }): Promise<Response> {
    const request = () =>
      fetch(url, {
        method: options.method ?? 'GET',
        headers: {
          ...(options.accept ? { accept: options.accept } : {}),
          ...(this.#authorization ? { authorization: this.#authorization } : {}),
        },
        redirect: 'follow',
        signal: this.#options.signal ?? null,
      }).catch((error: unknown) => {
        throw this.#failure(
          `cannot reach ${url}: ${(error as Error).cause ?? (error as Error).message}`,
          error,
        );
      });
    let response = await request();
    if (response.status === 401) {
      await response.arrayBuffer().catch(() => undefined);
      this.#authorization = await this.#authenticate(response.headers.get('www-authenticate') ?? '');
      response = await request();
    }
    if (response.status === 401 || response.status === 403) {
      throw new PluginError(
        'CONTAINERD_REGISTRY_UNAUTHORIZED',
        `${this.ref.host} refused access to ${this.ref.repository} (${response.status}); check the image's username and password`,
      );
    }
    if (response.status === 404) {
      throw new PluginError(
        'CONTAINERD_IMAGE_NOT_FOUND',
        `${this.ref.host} has no ${url.slice(url.indexOf('/v2/') + 4)}; check the repository and tag`,
      );
    }
    if (!response.ok) throw this.#failure(`${options.method ?? 'GET'} ${url} answered ${response.status}`);
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
    });
    if (response.status === 401 || response.status === 403) {
      if (!basic) throw this.#needsCredentials();
      throw new PluginError(
        'CONTAINERD_REGISTRY_UNAUTHORIZED',
        `${tokenUrl.host} refused the credentials for ${this.ref.repository}; check the image's username and password`,
      );
    }
    if (!response.ok) throw this.#failure(`the token service ${tokenUrl.origin} answered ${response.status}`);
    const body = (await response.json()) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (!token) throw this.#failure(`the token service ${tokenUrl.origin} sent no token`);
    return `Bearer ${token}`;
  }

  #needsCredentials(): PluginError {
    return new PluginError(
      'CONTAINERD_REGISTRY_UNAUTHORIZED',
      `${this.ref.host} wants credentials for ${this.ref.repository}; give the image a username and password`,
    );
  }

  #corrupt(expected: string, actual: string): PluginError {
    return new PluginError(
      'CONTAINERD_IMAGE_CORRUPT',
      `${this.ref.host}/${this.ref.repository}: asked for ${expected}, received content with digest ${actual}`,
    );
  }

  #failure(message: string, cause?: unknown): PluginError {
    return new PluginError(
      'CONTAINERD_REGISTRY_FAILED',
      `pulling ${this.ref.host}/${this.ref.repository}: ${message}`,
      {
        cause,
      },
    );
  }
}
