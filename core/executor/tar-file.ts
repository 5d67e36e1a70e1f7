/**
 * Just enough of the tar format to take the one file out of the archive a volume driver streams
 * for a single path (ustar headers, pax and GNU long names). Archives of whole directories are
 * extracted by the drivers themselves.
 */
const BLOCK = 512;

export interface TarFile {
  name: string;
  /** `file`, or what else the first entry was (a link, a directory). */
  type: 'file' | 'directory' | 'symlink' | 'other';
  content: Buffer;
}

/** The first entry of a tar archive that is not a metadata header; undefined for an empty archive. */
export function firstTarEntry(archive: Buffer): TarFile | undefined {
  let offset = 0;
  let longName: string | undefined;
  let paxSize: number | undefined;
  while (offset + BLOCK <= archive.length) {
    const header = archive.subarray(offset, offset + BLOCK);
    if (header.every((byte) => byte === 0)) return undefined;
    const typeflag = String.fromCharCode(header[156] ?? 0);
    const size = paxSize ?? parseSize(header.subarray(124, 136));
    paxSize = undefined;
    const dataStart = offset + BLOCK;
    const data = archive.subarray(dataStart, dataStart + size);
    if (data.length < size) throw new Error('the archive ends inside an entry');
    offset = dataStart + Math.ceil(size / BLOCK) * BLOCK;

    if (typeflag === 'x') {
      const pax = parsePax(data);
      if (pax.path !== undefined) longName = pax.path;
      if (pax.size !== undefined) paxSize = Number(pax.size);
      continue;
    }
    if (typeflag === 'L') {
      longName = data.toString('utf8').replace(/\0.*$/s, '');
      continue;
    }
    if (typeflag === 'g' || typeflag === 'K') continue;

    const name = longName ?? headerName(header);
    const type =
      typeflag === '0' || typeflag === '\0' || typeflag === '7'
        ? 'file'
        : typeflag === '5'
          ? 'directory'
          : typeflag === '2'
            ? 'symlink'
            : 'other';
    return { name, type, content: Buffer.from(data) };
  }
  return undefined;
}

function headerName(header: Buffer): string {
  const name = cString(header.subarray(0, 100));
  const magic = header.subarray(257, 262).toString('latin1');
  const prefix = magic === 'ustar' ? cString(header.subarray(345, 500)) : '';
  return prefix ? `${prefix}/${name}` : name;
}

function cString(bytes: Buffer): string {
  const end = bytes.indexOf(0);
  return bytes.subarray(0, end < 0 ? bytes.length : end).toString('utf8');
}

/** Octal, or base-256 (high bit set) for sizes past 8 GiB. */
function parseSize(field: Buffer): number {
  if (((field[0] ?? 0) & 0x80) !== 0) {
    let value = 0;
    for (let i = 1; i < field.length; i++) value = value * 256 + (field[i] ?? 0);
    return value;
  }
  const text = cString(field).trim();
  return text ? Number.parseInt(text, 8) : 0;
}

/** Pax records: `<length> <key>=<value>\n`, the length in bytes and counting the whole record. */
function parsePax(data: Buffer): Record<string, string> {
  const records: Record<string, string> = {};
  let offset = 0;
  while (offset < data.length) {
    const space = data.indexOf(0x20, offset);
    if (space < 0) break;
    const length = Number.parseInt(data.subarray(offset, space).toString('latin1'), 10);
    if (!(length > 0)) break;
    const body = data
      .subarray(space + 1, offset + length)
      .toString('utf8')
      .replace(/\n$/, '');
    const equals = body.indexOf('=');
    if (equals > 0) records[body.slice(0, equals)] = body.slice(equals + 1);
    offset += length;
  }
  return records;
}
