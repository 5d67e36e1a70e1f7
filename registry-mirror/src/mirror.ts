/**
 * Mirror mode: a pull-through cache of an upstream registry. Content addressed by digest never
 * changes, so blobs and manifests by digest are cached forever; a tag is trusted for the TTL, then
 * checked with a HEAD (cheap, and not counted by rate-limited registries) and fetched again only if
 * it moved. When the upstream cannot be reached, whatever is cached is served, stale tags
 * included; only what was never cached fails (503 UNAVAILABLE).
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { PassThrough, Readable } from 'node:stream';
import type { FastifyBaseLogger } from 'fastify';
import { RegistryError } from './errors.js';
import { MANIFEST_MAX_BYTES, MANIFEST_MEDIA_TYPES, parseManifest } from './manifests.js';
import type { ReferenceLock } from './reference-lock.js';
import { type Digest, digestOf, isTag, newHash, parseDigest } from './references.js';
import type { ReferrerDescriptor, Storage } from './storage.js';
import { type UpstreamClient, type UpstreamConfig, UpstreamUnavailable } from './upstream.js';

const ACCEPT_MANIFESTS = MANIFEST_MEDIA_TYPES.join(', ');
const STREAM_CHUNK = 1024 * 1024;

export class Mirror {
  /** One refresh per manifest reference at a time: concurrent pulls of a tag share it. */
  private readonly inflight = new Map<string, Promise<void>>();

  constructor(
    private readonly storage: Storage,
    private readonly upstream: UpstreamClient,
    private readonly config: UpstreamConfig,
    private readonly log: FastifyBaseLogger,
    /** The server's gc lock: caching a manifest or linking a blob adds references (see gc.ts). */
    private readonly lock: ReferenceLock,
  ) {}

  get url(): string {
    return this.upstream.url;
  }

  private unavailable(what: string, error: unknown): RegistryError {
    return new RegistryError(
      'UNAVAILABLE',
      `${what} is not cached and the upstream cannot serve it: ${(error as Error).message}`,
      { cause: error },
    );
  }

  /** Make sure the cache holds `reference` of `repository`, fresh enough; throws when it cannot. */
  async ensureManifest(repository: string, reference: string, digest: Digest | undefined): Promise<void> {
    const key = `${repository}@${reference}`;
    let running = this.inflight.get(key);
    if (!running) {
      running = (
        digest ? this.ensureByDigest(repository, digest) : this.ensureByTag(repository, reference)
      ).finally(() => this.inflight.delete(key));
      this.inflight.set(key, running);
    }
    return running;
  }

  private async ensureByDigest(repository: string, digest: Digest): Promise<void> {
    if (
      (await this.storage.manifestLink(repository, digest)) &&
      (await this.storage.blobSize(digest)) !== undefined
    )
      return;
    try {
      await this.fetchManifest(repository, digest.value, digest);
    } catch (error) {
      if (error instanceof UpstreamUnavailable)
        throw this.unavailable(`manifest ${repository}@${digest.value}`, error);
      throw error;
    }
  }

  private async ensureByTag(repository: string, tag: string): Promise<void> {
    if (!isTag(tag)) return;
    const cached = await this.storage.tag(repository, tag);
    const cachedDigest = cached ? parseDigest(cached.digest) : undefined;
    const usable =
      cachedDigest !== undefined &&
      (await this.storage.manifestLink(repository, cachedDigest)) !== undefined &&
      (await this.storage.blobSize(cachedDigest)) !== undefined;
    const now = Date.now();
    if (usable && now - cached!.checkedAt < this.config.tagTtlSeconds * 1000) return;
    try {
      if (usable) {
        const head = await this.upstream.request({
          method: 'HEAD',
          path: `/v2/${repository}/manifests/${tag}`,
          repository,
          headers: { accept: ACCEPT_MANIFESTS },
        });
        if (head.ok && head.headers.get('docker-content-digest') === cached!.digest) {
          await this.storage.setTag(repository, tag, { digest: cached!.digest, checkedAt: now });
          return;
        }
        if (head.status === 404) return await this.forgetTag(repository, tag);
        if (!head.ok) throw upstreamRefused(head, `HEAD ${repository}:${tag}`);
      }
      await this.fetchManifest(repository, tag, undefined, tag);
    } catch (error) {
      if (!(error instanceof UpstreamUnavailable)) throw error;
      if (usable) {
        this.log.warn(
          { repository, tag, err: error },
          'upstream unavailable: serving the cached tag past its TTL',
        );
        return;
      }
      throw this.unavailable(`manifest ${repository}:${tag}`, error);
    }
  }

  /** The tag is gone upstream: drop it here too, so that pulls see what the upstream says. */
  private async forgetTag(repository: string, tag: string): Promise<void> {
    await this.storage.deleteTag(repository, tag);
  }

  private async fetchManifest(
    repository: string,
    reference: string,
    digest?: Digest,
    tag?: string,
  ): Promise<void> {
    const response = await this.upstream.request({
      method: 'GET',
      path: `/v2/${repository}/manifests/${reference}`,
      repository,
      headers: { accept: ACCEPT_MANIFESTS },
    });
    if (response.status === 404) {
      await response.body?.cancel();
      if (tag) await this.forgetTag(repository, tag);
      return;
    }
    if (!response.ok) throw upstreamRefused(response, `GET manifest ${repository}:${reference}`);
    const data = Buffer.from(await response.arrayBuffer());
    if (data.length > MANIFEST_MAX_BYTES)
      throw new UpstreamUnavailable(
        `the upstream's manifest ${repository}:${reference} is over ${MANIFEST_MAX_BYTES} bytes`,
      );
    const actual = parseDigest(digestOf(data, digest?.algorithm ?? 'sha256'))!;
    if (digest && actual.value !== digest.value)
      throw new UpstreamUnavailable(
        `the upstream sent a manifest for ${repository}@${digest.value} whose digest is ${actual.value}`,
      );
    const announced = response.headers.get('docker-content-digest');
    if (announced && parseDigest(announced)?.algorithm === actual.algorithm && announced !== actual.value)
      throw new UpstreamUnavailable(
        `the upstream announced ${announced} for ${repository}:${reference} but sent ${actual.value}`,
      );
    let mediaType = response.headers.get('content-type')?.split(';')[0]?.trim() ?? '';
    let referrer: { subject: Digest; descriptor: ReferrerDescriptor } | undefined;
    try {
      const parsed = parseManifest(data, mediaType);
      mediaType = parsed.mediaType;
      if (parsed.subject)
        referrer = {
          subject: parsed.subject.digest,
          descriptor: {
            mediaType,
            digest: actual.value,
            size: data.length,
            ...(parsed.artifactType ? { artifactType: parsed.artifactType } : {}),
            ...(parsed.annotations ? { annotations: parsed.annotations } : {}),
          },
        };
    } catch {
      // A format we would not accept in a push is still the upstream's business: cache it as sent.
    }
    await this.lock.shared(async () => {
      await this.storage.writeBlob(actual, data);
      await this.storage.linkManifest(repository, actual, {
        digest: actual.value,
        mediaType,
        size: data.length,
      });
      if (referrer) await this.storage.addReferrer(repository, referrer.subject, referrer.descriptor, actual);
      if (tag) await this.storage.setTag(repository, tag, { digest: actual.value, checkedAt: Date.now() });
      this.lock.journal(repository, actual.value);
    });
  }

  /**
   * A blob not linked to the repository here: link it if it is in the store and the upstream
   * confirms the repository has it (so one repository's pull never reveals another's blob);
   * returns false when the store lacks it.
   */
  async linkIfStored(repository: string, digest: Digest): Promise<boolean> {
    // Stored first: a link may outlive its blob (gc), and then the blob is fetched again.
    if ((await this.storage.blobSize(digest)) === undefined) return false;
    if (await this.storage.isBlobLinked(repository, digest)) return true;
    try {
      const head = await this.upstream.request({
        method: 'HEAD',
        path: `/v2/${repository}/blobs/${digest.value}`,
        repository,
      });
      if (head.status === 404) throw blobUnknown(repository, digest);
      if (!head.ok) throw upstreamRefused(head, `HEAD blob ${repository}@${digest.value}`);
    } catch (error) {
      if (error instanceof UpstreamUnavailable)
        throw this.unavailable(`blob ${repository}@${digest.value}`, error);
      throw error;
    }
    await this.lock.shared(() => this.storage.linkBlob(repository, digest));
    return true;
  }

  /** The size of a blob the upstream has (HEAD, nothing cached). */
  async headBlob(repository: string, digest: Digest): Promise<number | undefined> {
    try {
      const head = await this.upstream.request({
        method: 'HEAD',
        path: `/v2/${repository}/blobs/${digest.value}`,
        repository,
      });
      if (head.status === 404) throw blobUnknown(repository, digest);
      if (!head.ok) throw upstreamRefused(head, `HEAD blob ${repository}@${digest.value}`);
      const length = head.headers.get('content-length');
      return length === null ? undefined : Number(length);
    } catch (error) {
      if (error instanceof UpstreamUnavailable)
        throw this.unavailable(`blob ${repository}@${digest.value}`, error);
      throw error;
    }
  }

  /**
   * Fetch a blob from the upstream and hand its bytes on as they come, while writing them to the
   * cache. The digest is checked at the end: the last chunk is held back until it matches, so a
   * client never receives the whole of a corrupt blob, and only a verified one enters the store.
   * If the client goes away, the download still completes into the cache.
   */
  async streamBlob(
    repository: string,
    digest: Digest,
  ): Promise<{ size: number | undefined; stream: Readable }> {
    let response: Response;
    try {
      response = await this.upstream.request({
        method: 'GET',
        path: `/v2/${repository}/blobs/${digest.value}`,
        repository,
      });
    } catch (error) {
      if (error instanceof UpstreamUnavailable)
        throw this.unavailable(`blob ${repository}@${digest.value}`, error);
      throw error;
    }
    if (response.status === 404) {
      await response.body?.cancel();
      throw blobUnknown(repository, digest);
    }
    if (!response.ok || !response.body) {
      const refused = upstreamRefused(response, `GET blob ${repository}@${digest.value}`);
      throw this.unavailable(`blob ${repository}@${digest.value}`, refused);
    }
    const length = response.headers.get('content-length');
    const source = Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>, {
      highWaterMark: STREAM_CHUNK,
    });
    const out = new PassThrough({ highWaterMark: STREAM_CHUNK });
    void this.teeIntoCache(repository, digest, source, out);
    return { size: length === null ? undefined : Number(length), stream: out };
  }

  /** Download a blob into the cache (for a Range request on a blob not cached yet). */
  async fetchBlob(repository: string, digest: Digest): Promise<void> {
    const { stream } = await this.streamBlob(repository, digest);
    stream.resume();
    try {
      await once(stream, 'end');
    } catch (error) {
      if (error instanceof UpstreamUnavailable)
        throw this.unavailable(`blob ${repository}@${digest.value}`, error);
      throw error;
    }
  }

  private async teeIntoCache(
    repository: string,
    digest: Digest,
    source: Readable,
    out: PassThrough,
  ): Promise<void> {
    const temp = this.storage.tempPath();
    const file = createWriteStream(temp, { highWaterMark: STREAM_CHUNK });
    const hash = newHash(digest.algorithm);
    const toClient = async (chunk: Buffer) => {
      if (out.destroyed || out.write(chunk)) return;
      await Promise.race([once(out, 'drain'), once(out, 'close')]);
    };
    let held: Buffer | undefined;
    try {
      for await (const chunk of source as AsyncIterable<Buffer>) {
        hash.update(chunk);
        if (!file.write(chunk)) await once(file, 'drain');
        if (held) await toClient(held);
        held = chunk;
      }
      file.end();
      await once(file, 'close');
      const actual = hash.digest('hex');
      if (actual !== digest.hex)
        throw new UpstreamUnavailable(
          `the upstream sent bytes with digest ${digest.algorithm}:${actual} for blob ${repository}@${digest.value}`,
        );
      await this.storage.moveInto(temp, this.storage.blobPath(digest));
      await this.lock.shared(() => this.storage.linkBlob(repository, digest));
      if (held) await toClient(held);
      out.end();
    } catch (error) {
      this.log.warn(
        { repository, digest: digest.value, err: error },
        'mirror: caching a blob from the upstream failed',
      );
      file.destroy();
      source.destroy();
      await rm(temp, { force: true });
      out.destroy(error as Error);
    }
  }

  /** The upstream's tag list, passed through with its Link; undefined when it cannot answer. */
  async tags(repository: string, query: string): Promise<{ body: unknown; link: string | null } | undefined> {
    try {
      const response = await this.upstream.request({
        method: 'GET',
        path: `/v2/${repository}/tags/list${query}`,
        repository,
      });
      if (response.status === 404) {
        await response.body?.cancel();
        throw new RegistryError('NAME_UNKNOWN', `repository ${repository} is not known to the upstream`, {
          detail: { name: repository },
        });
      }
      if (!response.ok) throw upstreamRefused(response, `GET tags of ${repository}`);
      return { body: await response.json(), link: response.headers.get('link') };
    } catch (error) {
      if (error instanceof UpstreamUnavailable) {
        this.log.warn({ repository, err: error }, 'upstream unavailable: listing the cached tags');
        return undefined;
      }
      throw error;
    }
  }

  /** The upstream's referrers index; undefined when it has no referrers API or cannot answer. */
  async referrers(repository: string, digest: Digest, query: string) {
    try {
      const response = await this.upstream.request({
        method: 'GET',
        path: `/v2/${repository}/referrers/${digest.value}${query}`,
        repository,
      });
      if (!response.ok) {
        await response.body?.cancel();
        return undefined;
      }
      return { body: await response.json(), filters: response.headers.get('oci-filters-applied') };
    } catch (error) {
      if (error instanceof UpstreamUnavailable) return undefined;
      throw error;
    }
  }
}

function blobUnknown(repository: string, digest: Digest): RegistryError {
  return new RegistryError('BLOB_UNKNOWN', `blob ${digest.value} is not in repository ${repository}`, {
    detail: { digest: digest.value },
  });
}

/** A 401/403/other 4xx from the upstream: the mirror's own credentials or config are wrong. */
function upstreamRefused(response: Response, what: string): UpstreamUnavailable {
  void response.body?.cancel();
  return new UpstreamUnavailable(
    `the upstream refused ${what} with ${response.status}${response.status === 401 || response.status === 403 ? " (check the mirror's upstream credentials)" : ''}`,
  );
}
