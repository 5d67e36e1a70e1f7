/**
 * The standalone command's flags and config file, turned into the options of startRegistryMirror
 * (or, for the `gc` subcommand, of collectGarbage). Flags beat the config file.
 */
import { readFile } from 'node:fs/promises';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { sha256Token } from './auth.js';
import {
  type AuthOptions,
  fillOptions,
  type GcScheduleOptions,
  type RegistryMirrorOptions,
  type TokenOption,
  type UpstreamOptions,
} from './config.js';
import { RegistryConfigError } from './errors.js';
import type { GcOptions } from './gc.js';

export const USAGE = `usage: node registry-mirror/dist/main.js [--config FILE] [flags]
       node registry-mirror/dist/main.js gc --help

  --config FILE              JSON file with the options of startRegistryMirror (flags override it)
  --root DIR                 storage root (required, here or in the config file)
  --host HOST                listen address (default 127.0.0.1)
  --port PORT                listen port (default 5000; 0 picks one)
  --token SECRET[:ACTIONS[:PATTERN]]
                             a token; ACTIONS is a comma list of pull,push,delete or * (default
                             pull,push), PATTERN a repository pattern (default **); repeatable.
                             Secrets with ':' go in the config file.
  --anonymous none|pull|push what requests without credentials may do (default: pull with tokens,
                             push without)
  --auth-scheme basic|bearer challenge with Basic, or run Distribution's token flow (/token)
  --realm REALM              the Basic realm, or the token endpoint URL for bearer
  --upstream URL             mirror mode: a pull-through cache of this registry (pushes refused)
  --upstream-username USER   credentials for the upstream; the password from
  --upstream-password PASS   here or CONVEYOR_REGISTRY_UPSTREAM_PASSWORD
  --tag-ttl SECONDS          how long a tag is served from the cache before asking again (default 300)
  --no-delete                refuse DELETE of manifests, tags and blobs
  --gc-interval DURATION     collect unreferenced blobs this often (e.g. 24h; default never)
  --gc-grace DURATION        keep blobs touched this recently, referenced or not (default 1h)
  --log                      log requests (JSON lines on stdout)
  --help                     this text`;

/** The flags of `args`; an unknown or malformed one is refused with the usage text. */
function parseFlags<const T extends NonNullable<ParseArgsConfig['options']>>(
  args: string[],
  options: T,
  usage: string,
) {
  try {
    return parseArgs({ args, strict: true, allowPositionals: false, options }).values;
  } catch (error) {
    return invalid(`${(error as Error).message}\n\n${usage}`);
  }
}

function invalid(message: string): never {
  throw new RegistryConfigError('CC_E_REGISTRY_CONFIG_INVALID', message);
}

function parseToken(value: string): TokenOption {
  const [token = '', actions = 'pull,push', repository = '**', ...rest] = value.split(':');
  if (token === '' || rest.length > 0)
    invalid(
      `--token ${value.slice(0, 3)}…: expected SECRET[:ACTIONS[:PATTERN]] (put secrets with ':' in the config file)`,
    );
  return {
    token,
    access: [{ repository, actions: actions.split(',') as TokenOption['access'][number]['actions'] }],
  };
}

export const GC_USAGE = `usage: node registry-mirror/dist/main.js gc [--config FILE] [--root DIR] [flags]

Delete the blobs no manifest references (and referrers whose subject is gone), and upload
sessions abandoned by their clients; print what it deleted and the bytes freed.

  --config FILE              the registry's JSON config file (its root, gc.graceSeconds and
                             uploadExpirySeconds are the defaults below)
  --root DIR                 storage root (required, here or in the config file)
  --grace DURATION           keep blobs touched this recently, referenced or not (default 1h); with a
                             server running on the root, at least 1m
  --upload-max-age DURATION  remove upload sessions untouched this long (default 24h)
  --dry-run                  delete nothing; list what would be deleted
  --json                     print the report as JSON
  --help                     this text

DURATION: a number of seconds, or a number with s, m, h or d (90s, 30m, 1h, 7d).`;

/** What the gc subcommand runs with. */
export interface GcCommandOptions extends GcOptions {
  root: string;
  json: boolean;
}

function integer(value: string, flag: string): number {
  if (!/^\d+(\.\d+)?$/.test(value)) invalid(`${flag} must be a number, not "${value}"`);
  return Number(value);
}

const UNIT_SECONDS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 };

/** `90`, `90s`, `30m`, `1h`, `7d` → seconds. */
export function duration(value: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(value.trim());
  if (!match) invalid(`${flag} must be a duration like 90s, 30m, 1h or 7d (or seconds), not "${value}"`);
  return Number(match![1]) * UNIT_SECONDS[match![2] ?? 's']!;
}

async function readConfigFile(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new RegistryConfigError(
      'CC_E_REGISTRY_CONFIG_UNREADABLE',
      `cannot read the config file ${path}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  let options: unknown;
  try {
    options = JSON.parse(text);
  } catch (error) {
    throw new RegistryConfigError(
      'CC_E_REGISTRY_CONFIG_UNREADABLE',
      `the config file ${path} is not JSON: ${(error as Error).message}`,
      { cause: error },
    );
  }
  if (typeof options !== 'object' || options === null || Array.isArray(options))
    invalid(`the config file ${path} must hold a JSON object`);
  return options as Record<string, unknown>;
}

/** The gc subcommand's options: the config file's, then the flags over them. */
export async function gcOptionsFromArgs(args: string[]): Promise<GcCommandOptions | 'help'> {
  const flags = parseFlags(
    args,
    {
      config: { type: 'string' },
      root: { type: 'string' },
      grace: { type: 'string' },
      'upload-max-age': { type: 'string' },
      'dry-run': { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean' },
    },
    GC_USAGE,
  );
  if (flags.help) return 'help';
  const options = flags.config === undefined ? {} : await readConfigFile(flags.config);
  if (flags.root !== undefined) options.root = flags.root;
  if (options.root === undefined) invalid(`--root (or "root" in the config file) is required\n\n${GC_USAGE}`);
  // The same checks and defaults as the server's: one config file serves both.
  const filled = fillOptions(options, sha256Token);
  return {
    root: filled.root,
    graceSeconds: flags.grace === undefined ? filled.gc.graceSeconds : duration(flags.grace, '--grace'),
    uploadMaxAgeSeconds:
      flags['upload-max-age'] === undefined
        ? filled.uploadExpirySeconds
        : duration(flags['upload-max-age'], '--upload-max-age'),
    dryRun: flags['dry-run'] ?? false,
    json: flags.json ?? false,
  };
}

/** Options from the config file, then the flags over them. */
export async function optionsFromArgs(
  args: string[],
  env = process.env,
): Promise<RegistryMirrorOptions | 'help'> {
  const flags = parseFlags(
    args,
    {
      config: { type: 'string' },
      root: { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      token: { type: 'string', multiple: true },
      anonymous: { type: 'string' },
      'auth-scheme': { type: 'string' },
      realm: { type: 'string' },
      upstream: { type: 'string' },
      'upstream-username': { type: 'string' },
      'upstream-password': { type: 'string' },
      'tag-ttl': { type: 'string' },
      'no-delete': { type: 'boolean' },
      'gc-interval': { type: 'string' },
      'gc-grace': { type: 'string' },
      log: { type: 'boolean' },
      help: { type: 'boolean' },
    },
    USAGE,
  );
  if (flags.help) return 'help';

  const options = flags.config === undefined ? {} : await readConfigFile(flags.config);
  const auth: AuthOptions = { ...(options.auth as AuthOptions | undefined) };
  if (flags.token) auth.tokens = [...(auth.tokens ?? []), ...flags.token.map(parseToken)];
  if (flags.anonymous !== undefined) auth.anonymous = flags.anonymous as AuthOptions['anonymous'];
  if (flags['auth-scheme'] !== undefined) auth.scheme = flags['auth-scheme'] as AuthOptions['scheme'];
  if (flags.realm !== undefined) auth.realm = flags.realm;
  if (Object.keys(auth).length > 0) options.auth = auth;

  const upstreamFlags =
    flags.upstream ?? flags['upstream-username'] ?? flags['upstream-password'] ?? flags['tag-ttl'];
  if (upstreamFlags !== undefined || env.CONVEYOR_REGISTRY_UPSTREAM_PASSWORD !== undefined) {
    const upstream: Partial<UpstreamOptions> = { ...(options.upstream as UpstreamOptions | undefined) };
    if (flags.upstream !== undefined) upstream.url = flags.upstream;
    if (flags['upstream-username'] !== undefined) upstream.username = flags['upstream-username'];
    const password = flags['upstream-password'] ?? env.CONVEYOR_REGISTRY_UPSTREAM_PASSWORD;
    if (password !== undefined) upstream.password = password;
    if (flags['tag-ttl'] !== undefined) upstream.tagTtlSeconds = integer(flags['tag-ttl'], '--tag-ttl');
    if (upstream.url !== undefined || upstreamFlags !== undefined) options.upstream = upstream;
  }
  if (flags.root !== undefined) options.root = flags.root;
  if (flags.host !== undefined) options.host = flags.host;
  if (flags.port !== undefined) options.port = integer(flags.port, '--port');
  if (flags['no-delete']) options.delete = false;
  if (flags['gc-interval'] !== undefined || flags['gc-grace'] !== undefined) {
    const gc: GcScheduleOptions = { ...(options.gc as GcScheduleOptions | undefined) };
    if (flags['gc-interval'] !== undefined)
      gc.intervalSeconds = duration(flags['gc-interval'], '--gc-interval');
    if (flags['gc-grace'] !== undefined) gc.graceSeconds = duration(flags['gc-grace'], '--gc-grace');
    options.gc = gc;
  }
  if (flags.log) options.logger = true;
  if (options.root === undefined) invalid(`--root (or "root" in the config file) is required\n\n${USAGE}`);
  return options as unknown as RegistryMirrorOptions;
}
