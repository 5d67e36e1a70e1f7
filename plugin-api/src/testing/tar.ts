import { Header, Parser, type ReadEntry } from 'tar';

/** One entry of a tar archive, as a test writes or reads it. */
export interface TarEntry {
  path: string;
  type?: 'File' | 'Directory' | 'SymbolicLink' | 'Link';
  /** A file's content. */
  body?: string | Buffer;
  /** A link's target. */
  linkpath?: string;
  mode?: number;
  mtime?: Date;
  uid?: number;
  gid?: number;
}

/** What readTar finds: every field filled, paths without `./` and without a trailing `/`. */
export interface ReadTarEntry {
  path: string;
  type: string;
  body: Buffer;
  linkpath: string | undefined;
  mode: number;
  mtime: Date | undefined;
  uid: number | undefined;
  gid: number | undefined;
}

const DEFAULT_MTIME = new Date('2020-01-02T03:04:05Z');

/**
 * A tar archive built header by header, so a test can hold entries no honest tool writes: absolute
 * paths, `..`, links that leave the directory.
 */
export function tarOf(entries: readonly TarEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const type = entry.type ?? 'File';
    const body = type === 'File' ? Buffer.from(entry.body ?? '') : Buffer.alloc(0);
    const header = new Header({
      path: entry.path,
      type,
      size: body.length,
      mode: entry.mode ?? (type === 'Directory' ? 0o755 : 0o644),
      mtime: entry.mtime ?? DEFAULT_MTIME,
      uid: entry.uid ?? 0,
      gid: entry.gid ?? 0,
      ...(entry.linkpath !== undefined ? { linkpath: entry.linkpath } : {}),
    });
    const block = Buffer.alloc(512);
    header.encode(block, 0);
    blocks.push(block);
    if (body.length) blocks.push(body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

/** Every entry of a tar archive, in order, with file contents. */
export async function readTar(archive: Buffer): Promise<ReadTarEntry[]> {
  const entries: ReadTarEntry[] = [];
  const parser = new Parser({
    onReadEntry: (entry: ReadEntry) => {
      const chunks: Buffer[] = [];
      entry.on('data', (chunk: Buffer) => chunks.push(chunk));
      entry.on('end', () => {
        entries.push({
          path: normalise(entry.path),
          type: entry.type,
          body: Buffer.concat(chunks),
          linkpath: entry.linkpath,
          mode: (entry.mode ?? 0) & 0o7777,
          mtime: entry.mtime,
          uid: entry.uid,
          gid: entry.gid,
        });
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    parser.on('error', reject);
    parser.on('end', resolve);
    parser.end(archive);
  });
  return entries;
}

/** Split a buffer into chunks, as a stream would deliver it. */
export function chunked(buffer: Buffer, size = 1000): Buffer[] {
  const chunks: Buffer[] = [];
  for (let i = 0; i < buffer.length; i += size) chunks.push(buffer.subarray(i, i + size));
  return chunks;
}

function normalise(path: string): string {
  const trimmed = path.replace(/^(?:\.\/)+/, '').replace(/\/+$/, '');
  return trimmed === '' || trimmed === '.' ? '.' : trimmed;
}
