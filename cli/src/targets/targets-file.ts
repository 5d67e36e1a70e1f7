import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseDocument, stringify } from 'yaml';
import { CliError } from '../errors/index.js';

/** One server `cc` knows how to reach, as saved by `cc login` or `cc up`. */
export interface Target {
  url: string;
  /** The API token; absent if the target was saved without one. */
  token?: string;
  /** For targets `cc up` saved: the data directory whose admin token this is. */
  dataDir?: string;
}

/** The targets file, like fly's ~/.flyrc: named targets plus the one used when none is named. */
export interface Targets {
  /** The target used when neither `--target` nor `--url` is given: the one last saved. */
  current?: string;
  targets: Record<string, Target>;
}

/** Where the targets file lives: `$CONVEYOR_HOME/targets.yaml`, default `~/.conveyor/targets.yaml`. */
export function targetsPath(env: NodeJS.ProcessEnv = process.env): string {
  const home =
    env.CONVEYOR_HOME !== undefined && env.CONVEYOR_HOME !== ''
      ? env.CONVEYOR_HOME
      : join(homedir(), '.conveyor');
  return join(home, 'targets.yaml');
}

export const targetNamePattern = /^[a-z0-9][a-z0-9._-]{0,62}$/i;

/** Reads the targets file; a missing file is no targets. */
export async function readTargets(path: string): Promise<Targets> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return { targets: {} };
    throw new CliError('CC_E_CLI_TARGETS_INVALID', `cannot read the targets file ${path}`, { cause: error });
  }
  return parseTargets(text, path);
}

/**
 * Writes the targets file. It holds tokens, so it is created 0600 in a 0700 directory, written to
 * a temporary file first and renamed over the old one, so a crash never leaves half a file.
 */
export async function writeTargets(path: string, targets: Targets): Promise<void> {
  try {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    const temporary = `${path}.${process.pid}.tmp`;
    // `current` first: it is what a person opening the file looks for.
    const ordered =
      targets.current === undefined
        ? { targets: targets.targets }
        : { current: targets.current, targets: targets.targets };
    await writeFile(temporary, stringify(ordered), { mode: 0o600 });
    // writeFile's mode only applies when it creates the file; a leftover temp file keeps its own.
    await chmod(temporary, 0o600);
    await rename(temporary, path);
  } catch (error) {
    throw new CliError('CC_E_CLI_TARGETS_INVALID', `cannot write the targets file ${path}`, { cause: error });
  }
}

function parseTargets(text: string, path: string): Targets {
  const document = parseDocument(text);
  const [syntaxError] = document.errors;
  if (syntaxError !== undefined) {
    const line = syntaxError.linePos?.[0].line;
    throw invalid(path, `${line === undefined ? '' : `line ${line}: `}${syntaxError.message}`);
  }
  const value: unknown = document.toJS();
  if (value === null || value === undefined) return { targets: {} };
  if (!isRecord(value)) throw invalid(path, 'the file must be a mapping with a `targets` key');
  const targets: Record<string, Target> = {};
  const saved = value.targets ?? {};
  if (!isRecord(saved)) throw invalid(path, '`targets` must be a mapping of target names');
  for (const [name, entry] of Object.entries(saved)) {
    if (!isRecord(entry) || typeof entry.url !== 'string') {
      throw invalid(path, `target "${name}" must have a string \`url\``);
    }
    const target: Target = { url: entry.url };
    if (typeof entry.token === 'string') target.token = entry.token;
    if (typeof entry.dataDir === 'string') target.dataDir = entry.dataDir;
    targets[name] = target;
  }
  return typeof value.current === 'string' ? { current: value.current, targets } : { targets };
}

function invalid(path: string, problem: string): CliError {
  return new CliError('CC_E_CLI_TARGETS_INVALID', `invalid targets file ${path}: ${problem}`, {
    hint: 'fix the file, or delete it and run `cc login` again',
    details: { file: path },
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isErrno(error: unknown, code: string): boolean {
  return error instanceof Error && 'code' in error && error.code === code;
}
