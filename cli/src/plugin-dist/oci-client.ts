/**
 * A small OCI Distribution client for plugin artifacts: monolithic blob pushes, manifests, tags,
 * referrers; every download verified against its digest. Credentials: a token sent as Basic (as
 * the password) or as a Bearer token, whichever the registry's challenge asks for, including
 * Distribution's token flow (`Bearer realm=…,service=…,scope=…`).
 */
import { CliError, isCliError } from '../errors/index.js';
import { isSha256Digest, sha256Digest } from './digest.js';
import { type Descriptor, MEDIA_TYPES, type OciManifest } from './media-types.js';

export interface OciClientOptions {
  /** The registry's base URL, e.g. `http://127.0.0.1:5000` (no `/v2/`). */
  url: string;
  /** A token (Basic password or Bearer), or `user:password` for Basic. */
  token?: string | undefined;
  /** Called when a blob download starts (received 0) and with bytes received so far, for progress output. */
  onProgress?: ((event: BlobProgressEvent) => void) | undefined;
}

/** How far one blob download has come. */
export interface BlobProgressEvent {
  repository: string;
  digest: string;
  received: number;
  /** The size its descriptor promises. */
  total: number;
}

/**
 * A precondition on a manifest PUT by tag: the digest the tag must still point at, or null for
 * "the tag must not exist yet". Sent as If-Match / If-None-Match; a registry that honours them
 * answers 412 to a stale write, one that does not ignores them.
 */
export interface PushCondition {
  current: string | null;
}

export interface FetchedManifest {
  digest: string;
  mediaType: string;
  data: Buffer;
  manifest: OciManifest;
}

const kManifestAccept = [MEDIA_TYPES.ociManifest, MEDIA_TYPES.ociIndex].join(', ');

export class OciClient {
  readonly url: string;
  readonly #token: string | undefined;
  readonly #onProgress: OciClientOptions['onProgress'];
  /** The Authorization header that worked last, per scope (Bearer tokens are scoped). */
  readonly #authorization = new Map<string, string>();

  constructor(options: OciClientOptions) {
    let url: URL;
    try {
      url = new URL(options.url);
    } catch (error) {
      throw new CliError('CC_E_CLI_USAGE', `registry URL ${JSON.stringify(options.url)} is not a URL`, {
        cause: error,
      });
    }
    this.url = url.origin;
    this.#token = options.token;
    this.#onProgress = options.onProgress;
  }

  /** Uploads a blob in one POST + PUT, unless the repository has it already. */
  async pushBlob(repository: string, descriptor: Descriptor, data: Buffer): Promise<void> {
    const head = await this.#request(repository, 'push', `/v2/${repository}/blobs/${descriptor.digest}`, {
      method: 'HEAD',
    });
    if (head.status === 200) return;
    const start = await this.#request(repository, 'push', `/v2/${repository}/blobs/uploads/`, {
      method: 'POST',
    });
    await this.#expect(start, [202], `start an upload to ${repository}`);
    const location = new URL(start.headers.get('location') ?? '', this.url);
    location.searchParams.set('digest', descriptor.digest);
    const put = await this.#request(repository, 'push', location.toString(), {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream' },
      body: data,
    });
    await this.#expect(put, [201], `upload blob ${descriptor.digest} to ${repository}`);
  }

  /** PUTs a manifest by tag or digest; returns its digest. */
  async pushManifest(
    repository: string,
    reference: string,
    data: Buffer,
    mediaType: string,
    condition?: PushCondition,
  ): Promise<string> {
    const headers: Record<string, string> = { 'content-type': mediaType };
    if (condition !== undefined) {
      if (condition.current === null) headers['if-none-match'] = '*';
      else headers['if-match'] = `"${condition.current}"`;
    }
    const response = await this.#request(repository, 'push', `/v2/${repository}/manifests/${reference}`, {
      method: 'PUT',
      headers,
      body: data,
    });
    await this.#expect(response, [201], `push manifest ${repository}:${reference}`);
    return sha256Digest(data);
  }

  /**
   * PUTs a manifest that has a `subject` (a signature) by digest. A registry without the referrers
   * API does not answer with `OCI-Subject`; then the spec's fallback applies: the referrer is added
   * to the index tagged `sha256-<subject hex>`, which `referrers` reads on such registries.
   */
  async pushReferrer(
    repository: string,
    referrer: Descriptor & { artifactType: string },
    data: Buffer,
  ): Promise<string> {
    const response = await this.#request(
      repository,
      'push',
      `/v2/${repository}/manifests/${referrer.digest}`,
      {
        method: 'PUT',
        headers: { 'content-type': referrer.mediaType },
        body: data,
      },
    );
    await this.#expect(response, [201], `push manifest ${repository}@${referrer.digest}`);
    const subject = (JSON.parse(data.toString('utf8')) as OciManifest).subject;
    if (response.headers.get('oci-subject') !== null || subject === undefined) return referrer.digest;

    const tag = subject.digest.replace(':', '-');
    const current = await this.#request(repository, 'push', `/v2/${repository}/manifests/${tag}`, {
      headers: { accept: MEDIA_TYPES.ociIndex },
    });
    let manifests: Descriptor[] = [];
    if (current.status === 404) await current.body?.cancel();
    else {
      await this.#expect(current, [200], `get the referrers tag ${repository}:${tag}`);
      manifests = ((await current.json()) as { manifests?: Descriptor[] }).manifests ?? [];
    }
    if (!manifests.some((m) => m.digest === referrer.digest)) manifests.push(referrer);
    const index = Buffer.from(
      JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, manifests }),
    );
    await this.pushManifest(repository, tag, index, MEDIA_TYPES.ociIndex);
    return referrer.digest;
  }

  /** Every tag of the repository (following `Link` pages); a repository that does not exist has none. */
  async listTags(repository: string): Promise<string[]> {
    const tags: string[] = [];
    let path: string | undefined = `/v2/${repository}/tags/list?n=1000`;
    while (path !== undefined) {
      const response = await this.#request(repository, 'pull', path, {});
      if (response.status === 404) {
        await response.body?.cancel();
        return [];
      }
      await this.#expect(response, [200], `list the tags of ${repository}`);
      const body = (await response.json()) as { tags?: string[] | null };
      tags.push(...(body.tags ?? []));
      const next = /<([^>]+)>;\s*rel="next"/.exec(response.headers.get('link') ?? '');
      path = next?.[1];
    }
    return tags;
  }

  /**
   * Every repository the registry lists in its catalog (following `Link` pages). A registry
   * lists only what the credentials may pull; one without a catalog answers 404: none.
   */
  async catalog(): Promise<string[]> {
    const repositories: string[] = [];
    let path: string | undefined = '/v2/_catalog?n=1000';
    while (path !== undefined) {
      const response = await this.#request('', 'pull', path, {}, 'registry:catalog:*');
      if (response.status === 404) {
        await response.body?.cancel();
        return repositories;
      }
      await this.#expect(response, [200], 'list the catalog');
      const body = (await response.json()) as { repositories?: string[] | null };
      repositories.push(...(body.repositories ?? []));
      const next = /<([^>]+)>;\s*rel="next"/.exec(response.headers.get('link') ?? '');
      path = next?.[1];
    }
    return repositories;
  }

  /**
   * A manifest by tag or digest. By digest, its bytes must have that digest; by tag, its digest is
   * computed from the bytes (the registry's Docker-Content-Digest header is not trusted).
   */
  async getManifest(repository: string, reference: string): Promise<FetchedManifest> {
    const response = await this.#request(repository, 'pull', `/v2/${repository}/manifests/${reference}`, {
      headers: { accept: kManifestAccept },
    });
    await this.#expect(response, [200], `get manifest ${repository}:${reference}`);
    const data = Buffer.from(await response.arrayBuffer());
    const digest = sha256Digest(data);
    if (isSha256Digest(reference) && digest !== reference) {
      throw digestMismatch(`manifest ${repository}@${reference}`, reference, digest);
    }
    let manifest: OciManifest;
    try {
      manifest = JSON.parse(data.toString('utf8')) as OciManifest;
    } catch (error) {
      throw new CliError(
        'CC_E_CLI_PLUGIN_REGISTRY_ERROR',
        `manifest ${repository}:${reference} is not JSON`,
        {
          cause: error,
        },
      );
    }
    return { digest, mediaType: response.headers.get('content-type') ?? manifest.mediaType, data, manifest };
  }

  /** A blob's bytes, checked against its descriptor's size and digest. */
  async getBlob(repository: string, descriptor: Descriptor): Promise<Buffer> {
    const response = await this.#request(
      repository,
      'pull',
      `/v2/${repository}/blobs/${descriptor.digest}`,
      {},
    );
    await this.#expect(response, [200], `get blob ${descriptor.digest} of ${repository}`);
    const chunks: Buffer[] = [];
    let received = 0;
    const progress = (n: number) =>
      this.#onProgress?.({ repository, digest: descriptor.digest, received: n, total: descriptor.size });
    progress(0);
    const reader = response.body?.getReader();
    while (reader) {
      const { done, value } = await reader.read();
      if (done) break;
      received += value.length;
      // More than promised is already wrong: stop reading rather than buffer without end.
      if (received > descriptor.size) {
        await reader.cancel();
        break;
      }
      chunks.push(Buffer.from(value));
      progress(received);
    }
    const data = Buffer.concat(chunks);
    const digest = sha256Digest(data);
    if (data.length !== descriptor.size || digest !== descriptor.digest) {
      throw digestMismatch(`blob ${descriptor.digest} of ${repository}`, descriptor.digest, digest);
    }
    return data;
  }

  /** The descriptors of manifests whose `subject` is `digest` (the referrers API), optionally by artifact type. */
  async referrers(repository: string, digest: string, artifactType?: string): Promise<Descriptor[]> {
    const query = artifactType === undefined ? '' : `?artifactType=${encodeURIComponent(artifactType)}`;
    const response = await this.#request(
      repository,
      'pull',
      `/v2/${repository}/referrers/${digest}${query}`,
      {
        headers: { accept: MEDIA_TYPES.ociIndex },
      },
    );
    if (response.status === 404) {
      // No referrers API: the spec's fallback is the tag `sha256-<hex>` holding an index.
      await response.body?.cancel();
      return this.#referrersByTag(repository, digest, artifactType);
    }
    await this.#expect(response, [200], `list the referrers of ${repository}@${digest}`);
    const index = (await response.json()) as { manifests?: Descriptor[] };
    return (index.manifests ?? []).filter(
      (m) => artifactType === undefined || m.artifactType === artifactType,
    );
  }

  async #referrersByTag(repository: string, digest: string, artifactType?: string): Promise<Descriptor[]> {
    const tag = digest.replace(':', '-');
    const response = await this.#request(repository, 'pull', `/v2/${repository}/manifests/${tag}`, {
      headers: { accept: MEDIA_TYPES.ociIndex },
    });
    if (response.status === 404) {
      await response.body?.cancel();
      return [];
    }
    await this.#expect(response, [200], `get the referrers tag ${repository}:${tag}`);
    const index = (await response.json()) as { manifests?: Descriptor[] };
    return (index.manifests ?? []).filter(
      (m) => artifactType === undefined || m.artifactType === artifactType,
    );
  }

  /**
   * One request with credentials. On a 401 it answers the challenge once (Basic: the token as
   * password; Bearer: fetch a token from the realm) and retries; the header that worked is kept.
   */
  async #request(
    repository: string,
    action: 'pull' | 'push',
    path: string,
    init: RequestInit & { headers?: Record<string, string> },
    scope = `repository:${repository}:${action === 'push' ? 'pull,push' : 'pull'}`,
  ): Promise<Response> {
    const send = async (authorization: string | undefined): Promise<Response> => {
      const headers: Record<string, string> = { ...init.headers };
      if (authorization !== undefined) headers.authorization = authorization;
      try {
        return await fetch(new URL(path, this.url), { ...init, headers, redirect: 'follow' });
      } catch (error) {
        const cause = (error as { cause?: { code?: string; message?: string } }).cause;
        throw new CliError(
          'CC_E_CLI_PLUGIN_REGISTRY_UNREACHABLE',
          `cannot reach the plugin registry at ${this.url}: ${cause?.code ?? cause?.message ?? (error as Error).message}`,
          {
            cause: error,
            hint: 'check the --registry URL and that the registry runs',
            details: { registry: this.url },
          },
        );
      }
    };
    const known = this.#authorization.get(scope);
    const response = await send(known);
    if (response.status !== 401 || this.#token === undefined) return response;
    const challenge = response.headers.get('www-authenticate') ?? '';
    await response.body?.cancel();
    const authorization = await this.#answer(challenge, scope);
    this.#authorization.set(scope, authorization);
    return send(authorization);
  }

  async #answer(challenge: string, scope: string): Promise<string> {
    const token = this.#token as string;
    const basic = `Basic ${Buffer.from(token.includes(':') ? token : `conveyor:${token}`).toString('base64')}`;
    if (!/^bearer\s/i.test(challenge)) return basic;
    const params = Object.fromEntries(
      [...challenge.slice(7).matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1] as string, m[2] as string]),
    );
    if (params.realm === undefined) return `Bearer ${token}`;
    const realm = new URL(params.realm, this.url);
    if (params.service !== undefined) realm.searchParams.set('service', params.service);
    realm.searchParams.set('scope', params.scope ?? scope);
    let response: Response;
    try {
      response = await fetch(realm, { headers: { authorization: basic } });
    } catch (error) {
      throw new CliError(
        'CC_E_CLI_PLUGIN_REGISTRY_UNREACHABLE',
        `cannot reach the token endpoint ${realm.origin}${realm.pathname}`,
        {
          cause: error,
        },
      );
    }
    await this.#expect(response, [200], `get a token from ${realm.origin}${realm.pathname}`);
    const body = (await response.json()) as { token?: string; access_token?: string };
    const bearer = body.token ?? body.access_token;
    if (bearer === undefined) {
      throw new CliError(
        'CC_E_CLI_PLUGIN_REGISTRY_ERROR',
        `the token endpoint ${realm.origin}${realm.pathname} answered without a token`,
      );
    }
    return `Bearer ${bearer}`;
  }

  async #expect(response: Response, statuses: number[], what: string): Promise<void> {
    if (statuses.includes(response.status)) return;
    const text = await response.text().catch(() => '');
    let codes: string[] = [];
    try {
      codes = ((JSON.parse(text) as { errors?: Array<{ code: string }> }).errors ?? []).map((e) => e.code);
    } catch {
      // Not an OCI error body: the status says enough.
    }
    const detail = codes.length > 0 ? codes.join(', ') : text.slice(0, 200);
    const hint =
      response.status === 401 || response.status === 403
        ? 'pass a token with push (or pull) access with --token or CONVEYOR_REGISTRY_TOKEN'
        : undefined;
    throw new CliError(
      'CC_E_CLI_PLUGIN_REGISTRY_ERROR',
      `${this.url}: cannot ${what}: HTTP ${response.status}${detail ? ` ${detail}` : ''}`,
      {
        ...(hint === undefined ? {} : { hint }),
        details: { registry: this.url, status: response.status, codes },
      },
    );
  }
}

/** Whether `error` is a registry's answer that the manifest, tag or repository does not exist. */
export function isNotFound(error: unknown): boolean {
  return isCliError(error, 'CC_E_CLI_PLUGIN_REGISTRY_ERROR') && error.details.status === 404;
}

function digestMismatch(what: string, expected: string, actual: string): CliError {
  return new CliError(
    'CC_E_CLI_PLUGIN_DIGEST_MISMATCH',
    `${what} came back with other bytes (digest ${actual}): the registry's copy is corrupt or was tampered with; nothing was installed`,
    { details: { expected, actual } },
  );
}

/** What installing reads from a registry; an OCI layout directory (OciLayoutDir) offers it too. */
export type RegistryReader = Pick<
  OciClient,
  'url' | 'listTags' | 'getManifest' | 'getBlob' | 'referrers' | 'catalog'
>;

/** What mirroring writes to a registry or an OCI layout directory. */
export type RegistryWriter = Pick<OciClient, 'url' | 'pushBlob' | 'pushManifest' | 'pushReferrer'>;
