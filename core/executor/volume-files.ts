import { readFile, realpath, stat } from 'node:fs/promises';
import { join, posix, sep } from 'node:path';
import type { VolumeRef } from '@conveyor/plugin-api';
import { ConveyorError } from '../errors/index.js';
import type { PluginClient } from '../plugins/index.js';
import { firstTarEntry } from './tar-file.js';

/** Task configs, var files and pipelines are small; anything bigger is a mistake. */
const DEFAULT_MAX_BYTES = 4 * 1024 * 1024;
/** Room for the tar headers around the file. */
const TAR_OVERHEAD = 64 * 1024;

export interface ReadVolumeFileOptions {
  /** Names the volume in messages, e.g. `artifact "repo"`; default the volume's handle. */
  what?: string | undefined;
  maxBytes?: number | undefined;
}

/**
 * Read one file of a volume. A volume on this host is read directly (refusing a path that leads
 * out of it through a symbolic link: a task could plant one); any other is streamed out through
 * its driver as a tar, so this works with every driver, a PVC or a volume on another worker.
 */
export async function readVolumeFile(
  volumes: PluginClient<'volume'>,
  volume: VolumeRef,
  path: string,
  options: ReadVolumeFileOptions = {},
): Promise<Buffer> {
  const what = options.what ?? `volume ${volume.handle}`;
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const relative = insidePath(path, what);
  const unreadable = (reason: string, cause?: unknown) =>
    new ConveyorError(
      'CC_E_EXEC_FILE_UNREADABLE',
      `cannot read ${JSON.stringify(path)} from ${what}: ${reason}`,
      {
        cause,
        details: { volume: volume.handle, path },
      },
    );

  if (volume.location.type === 'host-path') {
    let root: string;
    let real: string;
    try {
      root = await realpath(volume.location.path);
      real = await realpath(join(root, relative));
    } catch {
      // ENOENT, or ENOTDIR on the way: either way, there is no such file (and no host path in the message).
      throw unreadable('no such file');
    }
    if (!real.startsWith(root + sep)) throw unreadable('it leads out of the volume through a symbolic link');
    const stats = await stat(real);
    if (!stats.isFile()) throw unreadable('it is not a regular file');
    if (stats.size > maxBytes) throw unreadable(`it is larger than ${maxBytes} bytes`);
    return readFile(real);
  }

  const chunks: Buffer[] = [];
  let total = 0;
  try {
    await volumes.call(
      'streamOut',
      { handle: volume.handle, path: relative },
      {
        onData: (chunk) => {
          total += chunk.byteLength;
          if (total <= maxBytes + TAR_OVERHEAD) chunks.push(Buffer.from(chunk));
        },
      },
    );
  } catch (error) {
    throw unreadable(error instanceof Error ? error.message : String(error), error);
  }
  if (total > maxBytes + TAR_OVERHEAD) throw unreadable(`it is larger than ${maxBytes} bytes`);
  let entry: ReturnType<typeof firstTarEntry>;
  try {
    entry = firstTarEntry(Buffer.concat(chunks));
  } catch (error) {
    throw unreadable(`the volume driver sent a broken archive (${(error as Error).message})`, error);
  }
  if (!entry) throw unreadable('no such file');
  if (entry.type !== 'file') throw unreadable(`it is a ${entry.type}, not a regular file`);
  if (entry.content.length > maxBytes) throw unreadable(`it is larger than ${maxBytes} bytes`);
  return entry.content;
}

/**
 * Copy the whole of `from` into `to` at `path`, as a tar streamed through the volume driver: it
 * works with any driver and wherever the volumes are.
 */
export async function copyIntoVolume(
  volumes: PluginClient<'volume'>,
  from: VolumeRef,
  to: VolumeRef,
  path: string,
): Promise<void> {
  const pipe = new ChunkPipe();
  const out = volumes
    .call('streamOut', { handle: from.handle }, { onData: (chunk) => pipe.push(chunk) })
    .finally(() => pipe.end());
  const into = volumes.call('streamIn', { handle: to.handle, path }, { input: pipe });
  const [sent, received] = await Promise.allSettled([out, into]);
  // The sender's failure explains the receiver's (a truncated archive), so it is reported first.
  if (sent.status === 'rejected') throw sent.reason;
  if (received.status === 'rejected') throw received.reason;
}

/** A path inside a volume, relative; `..` may not climb out. */
function insidePath(path: string, what: string): string {
  const relative = posix.normalize(`./${path}`);
  if (relative === '.' || relative === '..' || relative.startsWith('../')) {
    throw new ConveyorError(
      'CC_E_EXEC_FILE_UNREADABLE',
      `cannot read ${JSON.stringify(path)} from ${what}: give the path of a file inside it`,
      { details: { path } },
    );
  }
  return relative;
}

/** Chunks pushed by one call's callback, read as an async iterable by another call. */
class ChunkPipe implements AsyncIterable<Uint8Array> {
  readonly #queue: Uint8Array[] = [];
  #ended = false;
  #wake: (() => void) | undefined;

  push(chunk: Uint8Array): void {
    this.#queue.push(chunk);
    this.#wake?.();
  }

  end(): void {
    this.#ended = true;
    this.#wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    while (true) {
      const chunk = this.#queue.shift();
      if (chunk) {
        yield chunk;
      } else if (this.#ended) {
        return;
      } else {
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
        });
        this.#wake = undefined;
      }
    }
  }
}
