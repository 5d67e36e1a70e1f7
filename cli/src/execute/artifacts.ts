import { mkdir, stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ApiClient } from '../client/index.js';
import { CliError } from '../errors/index.js';
import { systemReason } from '../files/index.js';

/** Refuses an input directory that does not exist or is a file, before any build is created. */
export async function checkInputDir(name: string, dir: string): Promise<void> {
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(dir)).isDirectory();
  } catch (error) {
    throw new CliError(
      'CC_E_CLI_FILE_UNREADABLE',
      `input \`${name}\`: cannot read ${dir}: ${systemReason(error)}`,
      {
        cause: error,
        details: { input: name, dir },
      },
    );
  }
  if (!isDirectory) {
    throw new CliError('CC_E_CLI_USAGE', `input \`${name}\`: ${dir} is not a directory`);
  }
}

/**
 * Uploads a directory as a tar stream, read from disk as it is sent (never whole in memory).
 * Everything under it goes, .gitignore or not.
 */
export async function uploadDir(
  client: ApiClient,
  buildId: number,
  name: string,
  dir: string,
): Promise<void> {
  // tar is loaded here: only cc execute needs it.
  const { create } = await import('tar');
  let tarError: unknown;
  const pack = create({ cwd: dir, portable: true }, ['.']);
  pack.on('error', (error: unknown) => {
    tarError ??= error;
  });
  const body = Readable.toWeb(Readable.from(pack)) as ReadableStream<Uint8Array>;
  try {
    await client.uploadInput(buildId, name, body);
  } catch (error) {
    // A file that could not be read breaks the request body; that, not the network, is the cause.
    if (tarError !== undefined) throw artifactFailed(`cannot pack input \`${name}\` from ${dir}`, tarError);
    throw error;
  }
}

/** Downloads an output of a finished build and unpacks it into `dir`, created if need be. */
export async function downloadDir(
  client: ApiClient,
  buildId: number,
  name: string,
  dir: string,
): Promise<void> {
  const body = await client.downloadOutput(buildId, name);
  const { extract } = await import('tar');
  try {
    await mkdir(dir, { recursive: true });
    await pipeline(
      Readable.fromWeb(body as Parameters<typeof Readable.fromWeb>[0]),
      extract({ cwd: dir, strict: true }),
    );
  } catch (error) {
    throw artifactFailed(`cannot unpack output \`${name}\` into ${dir}`, error);
  }
}

function artifactFailed(message: string, cause: unknown): CliError {
  return new CliError('CC_E_CLI_ARTIFACT_FAILED', `${message}: ${systemReason(cause)}`, { cause });
}
