/**
 * A directory in the OCI image layout (`oci-layout`, `index.json`, `blobs/sha256/…`) used as a
 * plugin registry, for air-gapped sites: `cc plugin mirror DIR` writes it, `cc plugin install
 * --registry oci-layout:DIR` reads it. Several repositories share the one layout: a tagged manifest
 * is named `<repository>:<tag>` (`org.opencontainers.image.ref.name`), and signatures are found as
 * the layout spec finds referrers, by the `subject` of the manifests the index lists. Every read is
 * checked against its digest, as from a registry.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { CliError } from '../errors/index.js';
import { isSha256Digest, sha256Digest } from './digest.js';
import { type Descriptor, MEDIA_TYPES, type OciManifest } from './media-types.js';
import type { FetchedManifest, PushCondition } from './oci-client.js';

export const OCI_LAYOUT_SCHEME = 'oci-layout:';
const kRefName = 'org.opencontainers.image.ref.name';
const kRepository = 'io.conveyor.plugin.repository';

interface LayoutIndex {
  schemaVersion: 2;
  mediaType: string;
  manifests: Descriptor[];
}

export class OciLayoutDir {
  readonly dir: string;
  /** What the lock file records as the registry: `oci-layout:<absolute dir>`. */
  readonly url: string;

  constructor(dir: string) {
    this.dir = resolve(dir);
    this.url = `${OCI_LAYOUT_SCHEME}${this.dir}`;
  }

  async listTags(repository: string): Promise<string[]> {
    const prefix = `${repository}:`;
    return (await this.#index()).manifests
      .map((m) => m.annotations?.[kRefName] ?? '')
      .filter((name) => name.startsWith(prefix))
      .map((name) => name.slice(prefix.length));
  }

  async getManifest(repository: string, reference: string): Promise<FetchedManifest> {
    let descriptor: Descriptor | undefined;
    if (isSha256Digest(reference)) {
      descriptor = (await this.#index()).manifests.find((m) => m.digest === reference) ?? {
        mediaType: MEDIA_TYPES.ociManifest,
        digest: reference,
        size: -1,
      };
    } else {
      descriptor = (await this.#index()).manifests.find(
        (m) => m.annotations?.[kRefName] === `${repository}:${reference}`,
      );
    }
    if (descriptor === undefined) {
      // status 404, as a registry would answer: callers tell "not there" from "broken" by it.
      throw new CliError(
        'CC_E_CLI_PLUGIN_REGISTRY_ERROR',
        `${this.url} has no manifest ${repository}:${reference}`,
        { details: { registry: this.url, status: 404 } },
      );
    }
    const data = await this.#blob(descriptor.digest, descriptor.size < 0 ? undefined : descriptor.size);
    let manifest: OciManifest;
    try {
      manifest = JSON.parse(data.toString('utf8')) as OciManifest;
    } catch (error) {
      throw new CliError(
        'CC_E_CLI_PLUGIN_REGISTRY_ERROR',
        `${this.url}: manifest ${descriptor.digest} is not JSON`,
        {
          cause: error,
        },
      );
    }
    return {
      digest: descriptor.digest,
      mediaType: manifest.mediaType ?? descriptor.mediaType,
      data,
      manifest,
    };
  }

  /** The repositories with a tagged manifest, as a registry's catalog lists them. */
  async catalog(): Promise<string[]> {
    const names = (await this.#index()).manifests.map((m) => m.annotations?.[kRefName] ?? '');
    const repositories = names.filter((name) => name.includes(':')).map((name) => name.split(':')[0] ?? '');
    return [...new Set(repositories)].sort();
  }

  async getBlob(_repository: string, descriptor: Descriptor): Promise<Buffer> {
    return this.#blob(descriptor.digest, descriptor.size);
  }

  async referrers(_repository: string, digest: string, artifactType?: string): Promise<Descriptor[]> {
    const found: Descriptor[] = [];
    for (const descriptor of (await this.#index()).manifests) {
      if (descriptor.annotations?.[kRefName] !== undefined) continue;
      const { manifest } = await this.getManifest(_repository, descriptor.digest);
      if (manifest.subject?.digest !== digest) continue;
      if (artifactType !== undefined && manifest.artifactType !== artifactType) continue;
      found.push({
        ...descriptor,
        ...(manifest.artifactType === undefined ? {} : { artifactType: manifest.artifactType }),
      });
    }
    return found;
  }

  async pushBlob(_repository: string, descriptor: Descriptor, data: Buffer): Promise<void> {
    if (sha256Digest(data) !== descriptor.digest) {
      throw new CliError(
        'CC_E_CLI_PLUGIN_DIGEST_MISMATCH',
        `blob ${descriptor.digest} does not have that digest`,
      );
    }
    await this.#write(this.#blobPath(descriptor.digest), data);
  }

  async pushManifest(
    repository: string,
    reference: string,
    data: Buffer,
    mediaType: string,
    condition?: PushCondition,
  ): Promise<string> {
    const digest = sha256Digest(data);
    await this.#write(this.#blobPath(digest), data);
    const manifest = JSON.parse(data.toString('utf8')) as OciManifest;
    const name = `${repository}:${reference}`;
    if (condition !== undefined) {
      const { manifests } = await this.#index().catch(() => ({ manifests: [] as Descriptor[] }));
      const current = manifests.find((m) => m.annotations?.[kRefName] === name)?.digest ?? null;
      if (condition.current !== current) {
        throw new CliError(
          'CC_E_CLI_PLUGIN_REGISTRY_ERROR',
          `${this.url}: ${name} is no longer ${condition.current ?? 'absent'}`,
          { details: { registry: this.url, status: 412 } },
        );
      }
    }
    await this.#updateIndex((manifests) => [
      ...manifests.filter((m) => m.annotations?.[kRefName] !== name),
      {
        mediaType,
        digest,
        size: data.length,
        ...(manifest.artifactType === undefined ? {} : { artifactType: manifest.artifactType }),
        annotations: { [kRefName]: name },
      },
    ]);
    return digest;
  }

  async pushReferrer(
    repository: string,
    referrer: Descriptor & { artifactType: string },
    data: Buffer,
  ): Promise<string> {
    const digest = sha256Digest(data);
    await this.#write(this.#blobPath(digest), data);
    await this.#updateIndex((manifests) =>
      manifests.some((m) => m.digest === digest && m.annotations?.[kRefName] === undefined)
        ? manifests
        : [
            ...manifests,
            {
              mediaType: referrer.mediaType,
              digest,
              size: data.length,
              artifactType: referrer.artifactType,
              annotations: { ...referrer.annotations, [kRepository]: repository },
            },
          ],
    );
    return digest;
  }

  async #index(): Promise<LayoutIndex> {
    let text: string;
    try {
      text = await readFile(join(this.dir, 'index.json'), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new CliError(
          'CC_E_CLI_PLUGIN_REGISTRY_UNREACHABLE',
          `${this.dir} is not an OCI image layout (no index.json); make one with \`cc plugin mirror ${this.dir}\``,
          { cause: error },
        );
      }
      throw error;
    }
    const index = JSON.parse(text) as Partial<LayoutIndex>;
    return { schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, manifests: index.manifests ?? [] };
  }

  async #updateIndex(change: (manifests: Descriptor[]) => Descriptor[]): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await this.#write(
      join(this.dir, 'oci-layout'),
      Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })),
    );
    const current = await this.#index().catch(() => ({ manifests: [] as Descriptor[] }));
    const next: LayoutIndex = {
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.ociIndex,
      manifests: change(current.manifests),
    };
    await this.#write(join(this.dir, 'index.json'), Buffer.from(`${JSON.stringify(next, null, 2)}\n`));
  }

  #blobPath(digest: string): string {
    // Checked before it becomes a path: the index of a layout is input too.
    if (!isSha256Digest(digest)) {
      throw new CliError(
        'CC_E_CLI_PLUGIN_REGISTRY_ERROR',
        `${this.url}: ${JSON.stringify(digest)} is not a sha256 digest`,
      );
    }
    return join(this.dir, 'blobs', 'sha256', digest.slice('sha256:'.length));
  }

  async #blob(digest: string, size: number | undefined): Promise<Buffer> {
    const path = this.#blobPath(digest);
    let data: Buffer;
    try {
      data = await readFile(path);
    } catch (error) {
      throw new CliError('CC_E_CLI_PLUGIN_REGISTRY_ERROR', `${this.url} has no blob ${digest}`, {
        cause: error,
      });
    }
    const actual = sha256Digest(data);
    if (actual !== digest || (size !== undefined && data.length !== size)) {
      throw new CliError(
        'CC_E_CLI_PLUGIN_DIGEST_MISMATCH',
        `${path} has digest ${actual} (${data.length} bytes), expected ${digest}; the layout was altered`,
        { details: { expected: digest, actual } },
      );
    }
    return data;
  }

  async #write(path: string, data: Buffer): Promise<void> {
    await mkdir(dirname(path), { recursive: true });
    const tmp = `${path}.${process.pid}.tmp`;
    await writeFile(tmp, data);
    await rename(tmp, path);
  }
}
