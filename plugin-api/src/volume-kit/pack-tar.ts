import { stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { create } from 'tar';
import { volumeError } from './errors.js';
import type { TarOptions } from './extract-tar.js';
import { isErrno } from './paths.js';

/**
 * Pack `path` as a tar stream and hand each chunk to `write`; returns the number of bytes. A
 * directory is packed as `./…` entries (as `tar -C path -c .` does), a file under its own name.
 */
export async function packTar(
  path: string,
  write: (chunk: Uint8Array) => void,
  { codePrefix, log }: TarOptions,
): Promise<number> {
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(path)).isDirectory();
  } catch (error) {
    if (isErrno(error, 'ENOENT') || isErrno(error, 'ENOTDIR')) {
      throw volumeError(codePrefix, 'PATH_NOT_FOUND', 'the path to stream out does not exist in the volume');
    }
    throw error;
  }
  const pack = create(
    {
      cwd: isDirectory ? path : dirname(path),
      // Links stay links; owners, modes and times are kept.
      follow: false,
      portable: false,
      // One entry at a time: with more, node-tar 7.5 defers a hard link whose twin is still
      // queued, and when that link completes inside its twin's completion it ends the archive
      // twice, throwing 'write after end' from an event handler (an uncaught exception that kills
      // the worker) after the call has returned.
      jobs: 1,
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
