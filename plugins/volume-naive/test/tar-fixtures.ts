import { Header } from 'tar';

export interface TarEntrySpec {
  path: string;
  type?: 'File' | 'Directory' | 'SymbolicLink' | 'Link';
  body?: string;
  linkpath?: string;
  mode?: number;
}

/** A tar archive built header by header, so a test can hold entries no honest tool writes. */
export function tarOf(entries: TarEntrySpec[]): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const type = entry.type ?? 'File';
    const body = Buffer.from(type === 'File' ? (entry.body ?? '') : '');
    const header = new Header({
      path: entry.path,
      type,
      size: body.length,
      mode: entry.mode ?? (type === 'Directory' ? 0o755 : 0o644),
      mtime: new Date('2020-01-02T03:04:05Z'),
      uid: 0,
      gid: 0,
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

/** Split a buffer into chunks, as a stream would deliver it. */
export function chunked(buffer: Buffer, size = 1000): Buffer[] {
  const chunks: Buffer[] = [];
  for (let i = 0; i < buffer.length; i += size) chunks.push(buffer.subarray(i, i + size));
  return chunks;
}
