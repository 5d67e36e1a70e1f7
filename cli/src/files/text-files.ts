import { readFile, rename, writeFile } from 'node:fs/promises';
import { CliError } from '../errors/index.js';

/** Reads a file named on the command line; a failure names the file and the system error. */
export async function readTextFile(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new CliError('CC_E_CLI_FILE_UNREADABLE', `cannot read ${file}: ${systemReason(error)}`, {
      cause: error,
      details: { file },
    });
  }
}

/** Replaces a file's content through a temporary file, so a crash never leaves half of it. */
export async function replaceTextFile(file: string, text: string): Promise<void> {
  const temporary = `${file}.${process.pid}.tmp`;
  try {
    await writeFile(temporary, text);
    await rename(temporary, file);
  } catch (error) {
    throw new CliError('CC_E_CLI_FILE_UNREADABLE', `cannot write ${file}: ${systemReason(error)}`, {
      cause: error,
      details: { file },
    });
  }
}

/** ENOENT, EACCES, ... where there is a system code; the message otherwise. */
export function systemReason(error: unknown): string {
  if (error instanceof Error && 'code' in error && typeof error.code === 'string') return error.code;
  return error instanceof Error ? error.message : String(error);
}
