/**
 * Blob upload sessions: `<root>/uploads/<uuid>/data` grows chunk by chunk, in order; completing
 * the session verifies the bytes against the client's digest and renames the file into the blob
 * store, so a blob is visible whole and verified or not at all. A session whose digest does not
 * match is dropped with its data, as Distribution does.
 */
import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rm, stat, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { errnoCode, RegistryError } from './errors.js';
import { type Digest, type DigestAlgorithm, newHash } from './references.js';
import type { Storage } from './storage.js';

/** An inclusive byte range of a chunk (`Content-Range: <start>-<end>`). */
export interface ChunkRange {
  start: number;
  end: number;
}

/** Where an upload stands, for the `Range` and `Location` headers. */
export interface UploadStatus {
  id: string;
  repository: string;
  size: number;
}

/** An upload session dropped (or, in a dry run, to be dropped) for its age. */
export interface ExpiredUpload {
  id: string;
  /** Undefined when its info.json is unreadable (a session cut short by a crash). */
  repository: string | undefined;
  /** Bytes received so far. */
  size: number;
  /** How long it has been untouched. */
  idleMs: number;
}

interface UploadInfo {
  repository: string;
  startedAt: number;
}

/** What we know in memory of a session: a running hash saves re-reading the data at the end. */
interface LiveUpload {
  hash: ReturnType<typeof newHash> | undefined;
  hashed: number;
  busy: boolean;
}

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Bigger writes than the 64 KiB default: fewer syscalls per blob. */
const WRITE_CHUNK = 1024 * 1024;

/** The `Range` header of an upload: inclusive, and `0-0` for an empty one as Distribution says. */
export function uploadRange(size: number): string {
  return `0-${Math.max(size - 1, 0)}`;
}

export class Uploads {
  private readonly live = new Map<string, LiveUpload>();

  constructor(
    private readonly storage: Storage,
    private readonly expiryMs: number,
  ) {}

  private dir(id: string): string {
    return join(this.storage.uploadsDir, id);
  }

  async create(repository: string): Promise<UploadStatus> {
    const id = randomUUID();
    await mkdir(this.dir(id));
    const info: UploadInfo = { repository, startedAt: Date.now() };
    await this.storage.writeAtomic(join(this.dir(id), 'info.json'), JSON.stringify(info));
    // The data file exists from the start: its size is the session's offset.
    await (await open(join(this.dir(id), 'data'), 'w')).close();
    this.live.set(id, { hash: newHash('sha256'), hashed: 0, busy: false });
    return { id, repository, size: 0 };
  }

  /** The session's status; BLOB_UPLOAD_UNKNOWN when it does not exist in this repository. */
  async status(repository: string, id: string): Promise<UploadStatus> {
    const unknown = () =>
      new RegistryError('BLOB_UPLOAD_UNKNOWN', `no upload session ${id} in repository ${repository}`, {
        detail: { uuid: id },
      });
    if (!UUID_PATTERN.test(id)) throw unknown();
    try {
      const info = JSON.parse(await readFile(join(this.dir(id), 'info.json'), 'utf8')) as UploadInfo;
      if (info.repository !== repository) throw unknown();
      const { size } = await stat(join(this.dir(id), 'data'));
      return { id, repository, size };
    } catch (error) {
      if (error instanceof RegistryError) throw error;
      if (errnoCode(error) === 'ENOENT') throw unknown();
      throw error;
    }
  }

  /**
   * Append a chunk. `range`, when the client sent Content-Range, must start where the data ends
   * (else 416 with the current Range); a failed or short chunk leaves the session as it was.
   */
  async append(
    repository: string,
    id: string,
    body: Readable | undefined,
    range?: ChunkRange,
  ): Promise<UploadStatus> {
    return this.locked(repository, id, (status, live) => this.write(status, live, body, range));
  }

  /** Append the last chunk if any, verify, and move the data into the blob store. */
  async complete(
    repository: string,
    id: string,
    digest: Digest,
    body: Readable | undefined,
    range?: ChunkRange,
  ): Promise<number> {
    return this.locked(repository, id, async (status, live) => {
      const { size } = await this.write(status, live, body, range);
      const data = join(this.dir(id), 'data');
      let actual: string;
      if (digest.algorithm === 'sha256' && live.hash && live.hashed === size) {
        actual = live.hash.digest('hex');
        live.hash = undefined;
      } else {
        actual = await hashFile(data, digest.algorithm);
      }
      if (actual !== digest.hex) {
        await this.remove(id);
        throw new RegistryError(
          'DIGEST_INVALID',
          `the uploaded content (${size} bytes) has digest ${digest.algorithm}:${actual}, not ${digest.value}; the upload is dropped`,
          { detail: { digest: digest.value } },
        );
      }
      // On disk before it is visible: a crash must not leave a blob whose bytes are lost.
      const handle = await open(data, 'r');
      await handle.sync().finally(() => handle.close());
      await this.storage.moveInto(data, this.storage.blobPath(digest));
      // The data's mtime is its last chunk's, maybe long ago: the grace period of gc counts from now.
      await this.storage.touchBlob(digest);
      await this.remove(id);
      return size;
    });
  }

  async cancel(repository: string, id: string): Promise<void> {
    await this.status(repository, id);
    await this.remove(id);
  }

  /** Drop sessions older than the expiry (abandoned by their clients). */
  async purgeExpired(now = Date.now()): Promise<void> {
    await this.purge(this.expiryMs, { now });
  }

  /**
   * Drop sessions untouched for longer than `maxAgeMs` (none with a request in flight here), or
   * with `dryRun` only list them.
   */
  async purge(
    maxAgeMs: number,
    { now = Date.now(), dryRun = false }: { now?: number; dryRun?: boolean } = {},
  ): Promise<ExpiredUpload[]> {
    const expired: ExpiredUpload[] = [];
    for (const id of await readdir(this.storage.uploadsDir).catch(() => [] as string[])) {
      if (this.live.get(id)?.busy) continue;
      // The data file's mtime moves with every chunk; the directory's only at creation.
      const data = await stat(join(this.dir(id), 'data')).catch(() => undefined);
      const info = data ?? (await stat(this.dir(id)).catch(() => undefined));
      if (!info || now - info.mtimeMs <= maxAgeMs) continue;
      const session = await readFile(join(this.dir(id), 'info.json'), 'utf8')
        .then((text) => JSON.parse(text) as Partial<UploadInfo>)
        .catch(() => undefined);
      expired.push({
        id,
        repository: typeof session?.repository === 'string' ? session.repository : undefined,
        size: data?.size ?? 0,
        idleMs: now - info.mtimeMs,
      });
      if (!dryRun) await this.remove(id);
    }
    return expired;
  }

  private async remove(id: string): Promise<void> {
    this.live.delete(id);
    await rm(this.dir(id), { recursive: true, force: true });
  }

  /** One request at a time per session: a second one meanwhile gets 416 with the current range. */
  private async locked<T>(
    repository: string,
    id: string,
    fn: (status: UploadStatus, live: LiveUpload) => Promise<T>,
  ): Promise<T> {
    const status = await this.status(repository, id);
    let live = this.live.get(id);
    if (!live) {
      // A session from before a restart: its hash is rebuilt from the file if needed.
      live = { hash: undefined, hashed: -1, busy: false };
      this.live.set(id, live);
    }
    if (live.busy)
      throw rangeInvalid(status, `upload ${id} is busy with another request; send chunks one at a time`);
    live.busy = true;
    try {
      return await fn(status, live);
    } finally {
      live.busy = false;
    }
  }

  private async write(
    status: UploadStatus,
    live: LiveUpload,
    body: Readable | undefined,
    range: ChunkRange | undefined,
  ): Promise<UploadStatus> {
    if (range && range.start !== status.size)
      throw rangeInvalid(
        status,
        `chunk ${range.start}-${range.end} is out of order: the upload has ${status.size} bytes, so the next chunk starts at ${status.size}`,
      );
    if (!body) {
      if (range && range.end >= range.start)
        throw new RegistryError(
          'SIZE_INVALID',
          `Content-Range ${range.start}-${range.end} came without a body`,
        );
      return status;
    }
    const data = join(this.dir(status.id), 'data');
    const hashing = live.hash !== undefined && live.hashed === status.size;
    const saved = hashing ? live.hash!.copy() : undefined;
    let written = 0;
    try {
      await pipeline(
        body,
        async function* (source: AsyncIterable<Buffer>) {
          for await (const chunk of source) {
            if (hashing) live.hash!.update(chunk);
            written += chunk.length;
            yield chunk;
          }
        },
        createWriteStream(data, { flags: 'a', highWaterMark: WRITE_CHUNK }),
      );
      if (range && written !== range.end - range.start + 1)
        throw new RegistryError(
          'SIZE_INVALID',
          `Content-Range ${range.start}-${range.end} announced ${range.end - range.start + 1} bytes but the body had ${written}`,
        );
    } catch (error) {
      // Back to where the session was before this chunk.
      await truncate(data, status.size);
      if (saved) live.hash = saved;
      else live.hashed = -1;
      throw error;
    }
    const size = status.size + written;
    if (hashing) live.hashed = size;
    return { ...status, size };
  }
}

function rangeInvalid(status: UploadStatus, message: string): RegistryError {
  return new RegistryError('RANGE_INVALID', message, {
    headers: {
      location: `/v2/${status.repository}/blobs/uploads/${status.id}`,
      range: uploadRange(status.size),
      'docker-upload-uuid': status.id,
    },
  });
}

export async function hashFile(path: string, algorithm: DigestAlgorithm): Promise<string> {
  const hash = newHash(algorithm);
  await pipeline(
    createReadStream(path, { highWaterMark: WRITE_CHUNK }),
    async (source: AsyncIterable<Buffer>) => {
      for await (const chunk of source) hash.update(chunk);
    },
  );
  return hash.digest('hex');
}
