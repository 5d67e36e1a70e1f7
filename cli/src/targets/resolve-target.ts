import { CliError } from '../errors/index.js';
import { readTargets, type Targets } from './targets-file.js';

/** The server a command talks to, after flags, environment and the targets file are combined. */
export interface ResolvedTarget {
  /** The saved target's name; null when `--url` alone named the server. */
  name: string | null;
  url: string;
  token: string | null;
}

export interface TargetFlags {
  target?: string | undefined;
  url?: string | undefined;
  token?: string | undefined;
}

/**
 * Which server to talk to:
 * 1. `--target NAME` (or CONVEYOR_TARGET) picks a saved target;
 * 2. else `--url` (or CONVEYOR_URL) names a server directly;
 * 3. else the current target, the one `cc login` or `cc up` saved last.
 * `--url` and `--token` override the picked target's URL and token.
 */
export async function resolveTarget(flags: TargetFlags, path: string): Promise<ResolvedTarget> {
  const file = await readTargets(path);
  const name = flags.target ?? (flags.url === undefined ? file.current : undefined);
  const saved = name === undefined ? undefined : file.targets[name];
  if (name !== undefined && saved === undefined && flags.url === undefined) {
    throw unknownTarget(name, file, path);
  }
  const url = flags.url ?? saved?.url;
  if (url === undefined) {
    throw new CliError('CC_E_CLI_NO_TARGET', 'no target: run `cc login` or `cc up`', {
      hint: 'cc login --url URL --token TOKEN -t NAME, or cc up to start a local server',
      details: { file: path },
    });
  }
  return { name: name ?? null, url: normalizeUrl(url), token: flags.token ?? saved?.token ?? null };
}

/** A server's root URL without a trailing slash; the client appends /api/v1/… */
export function normalizeUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (error) {
    throw new CliError(
      'CC_E_CLI_USAGE',
      `invalid URL "${url}": give the server's root, e.g. http://127.0.0.1:8080`,
      {
        cause: error,
      },
    );
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new CliError('CC_E_CLI_USAGE', `invalid URL "${url}": only http and https are supported`);
  }
  return parsed.href.replace(/\/+$/, '');
}

function unknownTarget(name: string, file: Targets, path: string): CliError {
  const known = Object.keys(file.targets).sort();
  return new CliError('CC_E_CLI_UNKNOWN_TARGET', `unknown target "${name}" in ${path}`, {
    hint:
      known.length === 0
        ? 'no targets are saved yet: run `cc login` or `cc up`'
        : `saved targets: ${known.join(', ')}; or save this one with \`cc login -t ${name} --url URL --token TOKEN\``,
    details: { target: name, known },
  });
}
