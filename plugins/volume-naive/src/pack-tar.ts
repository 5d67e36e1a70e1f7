import { stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { PluginError } from '@conveyor/plugin-api';
import { create } from 'tar';
import { isErrno } from './paths.js';

/**
 * Pack `path` as a tar stream and hand each chunk to `write`; returns the number of bytes. A
 * directory is packed as `./…` entries (as `tar -C path -c .` does), a file under its own name.
 */
export async function packTar(
  path: string,
  write: (chunk: Uint8Array) => void,
  log: (line: string) => void,
): Promise<number> {
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(path)).isDirectory();
  } catch (error) {
    if (isErrno(error, 'ENOENT') || isErrno(error, 'ENOTDIR')) {
      throw new PluginError('NAIVE_PATH_NOT_FOUND', 'the path to stream out does not exist in the volume');
    }
    throw error;
  }
  const pack = create(
    {
      cwd: isDirectory ? path : dirname(path),
      // Links stay links; owners, modes and times are kept.
      follow: false,
      portable: false,
      onwarn: (code, message) => log(`skipped: ${code}: ${message}`),
    },
    [isDirectory ? '.' : basename(path)],
  );
  let bytes = 0;
  for await (const chunk of pack) {
    bytes += chunk.byteLength;
    write(chunk);
  }
  return bytes;
}
