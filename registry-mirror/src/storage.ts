/**
 * Content-addressed storage on disk. Everything is a file, and every file appears by rename():
 * it is written in full under `<root>/tmp/` (or an upload's directory) first, so a reader never
 * sees a partial blob, link or tag, and a crash leaves only temp files that the next start clears.
 *
 *   <root>/blobs/<alg>/<first two hex>/<hex>          the bytes of every blob and manifest, verified
 *   <root>/uploads/<uuid>/data, info.json              upload sessions in progress
 *   <root>/repositories/<name>/_layers/<alg>/<hex>     "this repository has this blob" (the digest)
 *   <root>/repositories/<name>/_manifests/revisions/<alg>/<hex>   a manifest of the repository and
 *                                                      the media type it was pushed with (JSON)
 *   <root>/repositories/<name>/_manifests/tags/<tag>   the digest a tag points to (JSON)
 *   <root>/repositories/<name>/_referrers/<alg>/<subject hex>/<alg>-<hex>   the descriptor of a
 *                                                      manifest whose `subject` is that digest
 *   <root>/server.json                                 the pid of a server using the root (for gc)
 *
 * A blob's mtime is when something last showed interest in it (uploaded, mounted, HEAD, named by
 * a manifest PUT): the garbage collector's grace period counts from there.
 *
 * Names and tags are checked against the spec's grammars before they get here: neither can hold
 * `..`, and no repository path component starts with `_` or `.`, so `_layers` and friends never
 * collide with a repository.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { errnoCode, RegistryConfigError } from './errors.js';
import { type Digest, parseDigest } from './references.js';

/** What the repository keeps about one of its manifests. */
export interface ManifestLink {
  digest: string;
  mediaType: string;
  size: number;
}

/** What a tag file holds. `checkedAt` (ms since the epoch) drives a mirror's tag TTL. */
export interface TagLink {
  digest: string;
  checkedAt: number;
}

/** The descriptor of a referrer, as the referrers API lists it. */
export interface ReferrerDescriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

/** A blob in the store, as the garbage collector lists it. */
export interface StoredBlob {
  digest: Digest;
  size: number;
  mtimeMs: number;
}

/** A manifest revision of a repository, as the garbage collector lists it. */
export interface StoredManifest {
  digest: Digest;
  link: ManifestLink;
  /** When the revision link was (last) written: a re-push rewrites it. */
  mtimeMs: number;
}

/** What `<root>/server.json` says about the server that uses the root. */
export interface ServerFile {
  pid: number;
  startedAt: number;
}

/** Temp files older than this at start are a crashed writer's, not a live one's. */
const STALE_TEMP_MS = 60 * 60 * 1000;

const isMissing = (error: unknown) => {
  const code = errnoCode(error);
  return code === 'ENOENT' || code === 'ENOTDIR';
};

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
}

async function readdirOrEmpty(path: string): Promise<string[]> {
  try {
    return await readdir(path);
  } catch (error) {
    if (isMissing(error)) return [];
    throw error;
  }
}

/** Remove a file; false if it was not there. */
async function removeFile(path: string): Promise<boolean> {
  try {
    await unlink(path);
    return true;
  } catch (error) {
    if (isMissing(error)) return false;
    throw error;
  }
}

export class Storage {
  readonly root: string;
  readonly blobsDir: string;
  readonly uploadsDir: string;
  readonly repositoriesDir: string;
  readonly tmpDir: string;

  private constructor(root: string) {
    this.root = root;
    this.blobsDir = join(root, 'blobs');
    this.uploadsDir = join(root, 'uploads');
    this.repositoriesDir = join(root, 'repositories');
    this.tmpDir = join(root, 'tmp');
  }

  /** Create the layout under `root` (if needed) and clear what a crashed writer left in tmp/. */
  static async open(root: string): Promise<Storage> {
    const storage = new Storage(root);
    try {
      for (const dir of [storage.blobsDir, storage.uploadsDir, storage.repositoriesDir, storage.tmpDir])
        await mkdir(dir, { recursive: true });
      const probe = storage.tempPath();
      await writeFile(probe, '');
      await unlink(probe);
    } catch (error) {
      throw new RegistryConfigError(
        'CC_E_REGISTRY_ROOT_UNUSABLE',
        `the storage root ${root} is not a writable directory (${(error as Error).message}); pass --root with a directory the registry may write to`,
        { cause: error },
      );
    }
    await storage.removeStaleTemps();
    return storage;
  }

  private async removeStaleTemps(): Promise<void> {
    const now = Date.now();
    for (const name of await readdir(this.tmpDir)) {
      const path = join(this.tmpDir, name);
      const info = await stat(path).catch(() => undefined);
      if (info && now - info.mtimeMs > STALE_TEMP_MS) await rm(path, { force: true, recursive: true });
    }
  }

  /** A fresh path under tmp/, on the same filesystem as everything it will be renamed to. */
  tempPath(): string {
    return join(this.tmpDir, randomBytes(12).toString('hex'));
  }

  /** Write a small file whole, then rename it into place. */
  async writeAtomic(path: string, data: string | Buffer): Promise<void> {
    const temp = this.tempPath();
    await writeFile(temp, data);
    await this.moveInto(temp, path);
  }

  /** rename() `from` to `to`, creating `to`'s directory when it is missing. */
  async moveInto(from: string, to: string): Promise<void> {
    try {
      await rename(from, to);
    } catch (error) {
      if (errnoCode(error) !== 'ENOENT') throw error;
      await mkdir(dirname(to), { recursive: true });
      await rename(from, to);
    }
  }

  // --- blobs -------------------------------------------------------------------------------

  blobPath(digest: Digest): string {
    return join(this.blobsDir, digest.algorithm, digest.hex.slice(0, 2), digest.hex);
  }

  /** The size of a stored blob, or undefined. */
  async blobSize(digest: Digest): Promise<number | undefined> {
    try {
      return (await stat(this.blobPath(digest))).size;
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  async readBlob(digest: Digest): Promise<Buffer | undefined> {
    try {
      return await readFile(this.blobPath(digest));
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  /** Store bytes already verified against `digest` (manifests); touches a blob already there. */
  async writeBlob(digest: Digest, data: Buffer): Promise<void> {
    if ((await this.blobSize(digest)) === data.length && (await this.touchBlob(digest))) return;
    await this.writeAtomic(this.blobPath(digest), data);
  }

  /**
   * Set a blob's mtime to now, because something is about to reference it; false when it is not
   * stored. Done before the existence check of a write, so that a collector that lists the blob as
   * old either deletes it first (and the write sees it missing) or sees it young and keeps it.
   */
  async touchBlob(digest: Digest): Promise<boolean> {
    const now = new Date();
    try {
      await utimes(this.blobPath(digest), now, now);
      return true;
    } catch (error) {
      if (isMissing(error)) return false;
      throw error;
    }
  }

  /** Every blob in the store (a walk of blobs/; files whose names are no digest are skipped). */
  async listBlobs(): Promise<StoredBlob[]> {
    const found: StoredBlob[] = [];
    for (const algorithm of await readdirOrEmpty(this.blobsDir)) {
      for (const shard of await readdirOrEmpty(join(this.blobsDir, algorithm))) {
        for (const hex of await readdirOrEmpty(join(this.blobsDir, algorithm, shard))) {
          const digest = parseDigest(`${algorithm}:${hex}`);
          if (!digest || !hex.startsWith(shard)) continue;
          const info = await stat(this.blobPath(digest)).catch(() => undefined);
          if (info?.isFile()) found.push({ digest, size: info.size, mtimeMs: info.mtimeMs });
        }
      }
    }
    return found;
  }

  /**
   * Delete a blob unless it was touched at or after `cutoffMs`; its size when deleted. The blob is
   * first renamed aside, then its mtime read again: a writer that touched it before the rename is
   * seen (and the blob put back), one that touches it after finds it missing and says so, so no
   * write can go on believing in a blob this deletes.
   */
  async removeBlobUnlessTouched(digest: Digest, cutoffMs: number): Promise<number | undefined> {
    const path = this.blobPath(digest);
    const aside = `${this.tempPath()}.gc`;
    try {
      await rename(path, aside);
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
    const info = await stat(aside);
    if (info.mtimeMs >= cutoffMs) {
      // Same digest, same bytes: if an upload put it back meanwhile, replacing it changes nothing.
      await rename(aside, path);
      return undefined;
    }
    await unlink(aside);
    return info.size;
  }

  // --- repositories ----------------------------------------------------------------------

  private repositoryDir(name: string): string {
    return join(this.repositoriesDir, ...name.split('/'));
  }

  private layerLinkPath(name: string, digest: Digest): string {
    return join(this.repositoryDir(name), '_layers', digest.algorithm, digest.hex);
  }

  private revisionPath(name: string, digest: Digest): string {
    return join(this.repositoryDir(name), '_manifests', 'revisions', digest.algorithm, digest.hex);
  }

  private tagsDir(name: string): string {
    return join(this.repositoryDir(name), '_manifests', 'tags');
  }

  private referrersDir(name: string, subject: Digest): string {
    return join(this.repositoryDir(name), '_referrers', subject.algorithm, subject.hex);
  }

  async repositoryExists(name: string): Promise<boolean> {
    for (const part of ['_manifests', '_layers']) {
      const info = await stat(join(this.repositoryDir(name), part)).catch(() => undefined);
      if (info?.isDirectory()) return true;
    }
    return false;
  }

  /** Every repository, sorted (a walk of repositories/; fine for the thousands a plugin registry holds). */
  async listRepositories(): Promise<string[]> {
    const found: string[] = [];
    const walk = async (dir: string, prefix: string): Promise<void> => {
      let entries: import('node:fs').Dirent[];
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (error) {
        if (isMissing(error)) return;
        throw error;
      }
      if (entries.some((e) => e.isDirectory() && (e.name === '_manifests' || e.name === '_layers')))
        found.push(prefix);
      for (const entry of entries) {
        if (!entry.isDirectory() || entry.name.startsWith('_') || entry.name.startsWith('.')) continue;
        await walk(join(dir, entry.name), prefix === '' ? entry.name : `${prefix}/${entry.name}`);
      }
    };
    await walk(this.repositoriesDir, '');
    return found.filter((name) => name !== '').sort();
  }

  async linkBlob(name: string, digest: Digest): Promise<void> {
    const path = this.layerLinkPath(name, digest);
    if (await stat(path).catch(() => undefined)) return;
    await this.writeAtomic(path, digest.value);
  }

  async isBlobLinked(name: string, digest: Digest): Promise<boolean> {
    return (await stat(this.layerLinkPath(name, digest)).catch(() => undefined)) !== undefined;
  }

  async unlinkBlob(name: string, digest: Digest): Promise<boolean> {
    return removeFile(this.layerLinkPath(name, digest));
  }

  /** The blobs the repository links (`_layers`). */
  async blobLinks(name: string): Promise<Digest[]> {
    const dir = join(this.repositoryDir(name), '_layers');
    const found: Digest[] = [];
    for (const algorithm of await readdirOrEmpty(dir))
      for (const hex of await readdirOrEmpty(join(dir, algorithm))) {
        const digest = parseDigest(`${algorithm}:${hex}`);
        if (digest) found.push(digest);
      }
    return found;
  }

  /** The repository's manifest revisions, with the time each link was written. */
  async manifestLinks(name: string): Promise<StoredManifest[]> {
    const dir = join(this.repositoryDir(name), '_manifests', 'revisions');
    const found: StoredManifest[] = [];
    for (const algorithm of await readdirOrEmpty(dir))
      for (const hex of await readdirOrEmpty(join(dir, algorithm))) {
        const digest = parseDigest(`${algorithm}:${hex}`);
        if (!digest) continue;
        const path = this.revisionPath(name, digest);
        const info = await stat(path).catch(() => undefined);
        const link = info && (await readJson<ManifestLink>(path).catch(() => undefined));
        if (info && link) found.push({ digest, link, mtimeMs: info.mtimeMs });
      }
    return found;
  }

  /** Unlink a manifest revision unless its link was written at or after `cutoffMs` (a re-push). */
  async unlinkManifestUnlessTouched(name: string, digest: Digest, cutoffMs: number): Promise<boolean> {
    const info = await stat(this.revisionPath(name, digest)).catch(() => undefined);
    if (!info || info.mtimeMs >= cutoffMs) return false;
    return this.unlinkManifest(name, digest);
  }

  async linkManifest(name: string, digest: Digest, link: ManifestLink): Promise<void> {
    await this.writeAtomic(this.revisionPath(name, digest), JSON.stringify(link));
  }

  async manifestLink(name: string, digest: Digest): Promise<ManifestLink | undefined> {
    return readJson<ManifestLink>(this.revisionPath(name, digest));
  }

  async unlinkManifest(name: string, digest: Digest): Promise<boolean> {
    return removeFile(this.revisionPath(name, digest));
  }

  async setTag(name: string, tag: string, link: TagLink): Promise<void> {
    await this.writeAtomic(join(this.tagsDir(name), tag), JSON.stringify(link));
  }

  async tag(name: string, tag: string): Promise<TagLink | undefined> {
    return readJson<TagLink>(join(this.tagsDir(name), tag));
  }

  async deleteTag(name: string, tag: string): Promise<boolean> {
    return removeFile(join(this.tagsDir(name), tag));
  }

  /** The repository's tags, sorted; undefined when the repository does not exist. */
  async listTags(name: string): Promise<string[] | undefined> {
    try {
      return (await readdir(this.tagsDir(name))).filter((t) => !t.startsWith('.')).sort();
    } catch (error) {
      if (!isMissing(error)) throw error;
      return (await this.repositoryExists(name)) ? [] : undefined;
    }
  }

  /** Remove every tag of the repository that points to `digest`. */
  async deleteTagsOf(name: string, digest: string): Promise<void> {
    for (const tag of (await this.listTags(name)) ?? []) {
      if ((await this.tag(name, tag))?.digest === digest) await this.deleteTag(name, tag);
    }
  }

  async addReferrer(
    name: string,
    subject: Digest,
    descriptor: ReferrerDescriptor,
    of: Digest,
  ): Promise<void> {
    await this.writeAtomic(
      join(this.referrersDir(name, subject), `${of.algorithm}-${of.hex}`),
      JSON.stringify(descriptor),
    );
  }

  async removeReferrer(name: string, subject: Digest, of: Digest): Promise<void> {
    await removeFile(join(this.referrersDir(name, subject), `${of.algorithm}-${of.hex}`));
  }

  // --- the server using the root -------------------------------------------------------------

  private get serverFilePath(): string {
    return join(this.root, 'server.json');
  }

  async writeServerFile(info: ServerFile): Promise<void> {
    await this.writeAtomic(this.serverFilePath, JSON.stringify(info));
  }

  async readServerFile(): Promise<ServerFile | undefined> {
    return readJson<ServerFile>(this.serverFilePath).catch(() => undefined);
  }

  /** Remove server.json if it is still `pid`'s. */
  async removeServerFile(pid: number): Promise<void> {
    if ((await this.readServerFile())?.pid === pid) await removeFile(this.serverFilePath);
  }

  async listReferrers(name: string, subject: Digest): Promise<ReferrerDescriptor[]> {
    const dir = this.referrersDir(name, subject);
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (error) {
      if (isMissing(error)) return [];
      throw error;
    }
    const found: ReferrerDescriptor[] = [];
    for (const file of names.sort()) {
      const descriptor = await readJson<ReferrerDescriptor>(join(dir, file));
      if (descriptor) found.push(descriptor);
    }
    return found;
  }
}
