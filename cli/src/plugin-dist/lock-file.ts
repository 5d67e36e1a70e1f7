/**
 * conveyor-plugins.lock: what `cc plugin install` put into a plugin store, by manifest digest, so
 * `cc plugin install` without a name installs exactly the same bytes elsewhere. JSON, entries
 * sorted by name and version so the file diffs well.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { CliError } from '../errors/index.js';
import { isSha256Digest } from './digest.js';

export const LOCK_FILE = 'conveyor-plugins.lock';

export interface LockEntry {
  name: string;
  version: string;
  /** The plugin manifest's digest. */
  digest: string;
  /** The registry's base URL. */
  registry: string;
  repository: string;
  /** The range `cc plugin install NAME@RANGE` asked for; `cc plugin update` stays within it. */
  range?: string;
}

export interface LockFile {
  lockfileVersion: 1;
  plugins: LockEntry[];
}

export async function readLockFile(file: string): Promise<LockFile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { lockfileVersion: 1, plugins: [] };
    throw new CliError('CC_E_CLI_PLUGIN_LOCK_INVALID', `cannot read ${file}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  let json: Partial<LockFile>;
  try {
    json = JSON.parse(text) as Partial<LockFile>;
  } catch (error) {
    throw new CliError('CC_E_CLI_PLUGIN_LOCK_INVALID', `${file}: not JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (json.lockfileVersion !== 1 || !Array.isArray(json.plugins)) {
    throw new CliError(
      'CC_E_CLI_PLUGIN_LOCK_INVALID',
      `${file}: expected { "lockfileVersion": 1, "plugins": [...] }`,
    );
  }
  json.plugins.forEach((entry, i) => {
    if (entry.range !== undefined && typeof entry.range !== 'string') {
      throw new CliError('CC_E_CLI_PLUGIN_LOCK_INVALID', `${file}: plugins[${i}].range must be a string`);
    }
    const ok =
      ['name', 'version', 'registry', 'repository'].every(
        (key) => typeof (entry as unknown as Record<string, unknown>)[key] === 'string',
      ) && isSha256Digest(entry.digest);
    if (!ok) {
      throw new CliError(
        'CC_E_CLI_PLUGIN_LOCK_INVALID',
        `${file}: plugins[${i}] needs name, version, digest (sha256:…), registry and repository`,
      );
    }
  });
  return json as LockFile;
}

/** Writes the lock file whole (through a temporary file and a rename). */
export async function writeLockFile(file: string, lock: LockFile): Promise<void> {
  const plugins = [...lock.plugins].sort((a, b) =>
    a.name === b.name ? a.version.localeCompare(b.version) : a.name.localeCompare(b.name),
  );
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify({ lockfileVersion: 1, plugins }, null, 2)}\n`);
  await rename(tmp, file);
}

/** The lock with `entry` in place of any entry of the same name and version. */
export function withEntry(lock: LockFile, entry: LockEntry): LockFile {
  return {
    lockfileVersion: 1,
    plugins: [...lock.plugins.filter((e) => !(e.name === entry.name && e.version === entry.version)), entry],
  };
}
