import { mkdir } from 'node:fs/promises';
import type { CallContext } from '../call-context.js';
import { extractTar } from './extract-tar.js';
import { packTar } from './pack-tar.js';
import { assertResolvesInside, resolveInside } from './paths.js';

export interface VolumeStreamOptions {
  /** The volume's data directory. */
  dataDir: string;
  /** The request's path inside the volume; default its root. */
  path: string | undefined;
  context: CallContext<unknown>;
  /** The driver's error code prefix. */
  codePrefix: string;
}

/** streamIn: extract the call's byte stream into `path` of the volume, made when missing. Returns the bytes read. */
export async function streamIntoVolume({
  dataDir,
  path,
  context,
  codePrefix,
}: VolumeStreamOptions): Promise<number> {
  const dir = resolveInside(dataDir, path, 'path', codePrefix);
  await assertResolvesInside(dataDir, dir, `path ${JSON.stringify(path)}`, codePrefix);
  await mkdir(dir, { recursive: true });
  return extractTar(context.read(), dir, { codePrefix, log: context.log });
}

/** streamOut: send `path` of the volume as tar on the call's byte stream and end it. Returns the bytes sent. */
export async function streamOutOfVolume({
  dataDir,
  path,
  context,
  codePrefix,
}: VolumeStreamOptions): Promise<number> {
  const source = resolveInside(dataDir, path, 'path', codePrefix);
  await assertResolvesInside(dataDir, source, `path ${JSON.stringify(path)}`, codePrefix);
  const bytes = await packTar(source, context.write, { codePrefix, log: context.log });
  context.end();
  return bytes;
}
