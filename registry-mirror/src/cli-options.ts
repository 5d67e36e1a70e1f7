/**
 * The standalone command's flags and config file, turned into the options of startRegistryMirror.
 * Flags beat the config file.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { AuthOptions, RegistryMirrorOptions, TokenOption, UpstreamOptions } from './config.js';
import { RegistryConfigError } from './errors.js';

export const USAGE = `usage: node registry-mirror/dist/main.js [--config FILE] [flags]

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
  --log                      log requests (JSON lines on stdout)
  --help                     this text`;

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

function integer(value: string, flag: string): number {
  if (!/^\d+(\.\d+)?$/.test(value)) invalid(`${flag} must be a number, not "${value}"`);
  return Number(value);
}

/** Options from the config file, then the flags over them. */
export async function optionsFromArgs(
  args: string[],
  env = process.env,
): Promise<RegistryMirrorOptions | 'help'> {
  let parsed: ReturnType<typeof parse>;
  const parse = () =>
    parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
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
        log: { type: 'boolean' },
        help: { type: 'boolean' },
      },
    });
  try {
    parsed = parse();
  } catch (error) {
    invalid(`${(error as Error).message}\n\n${USAGE}`);
  }
  const flags = parsed!.values;
  if (flags.help) return 'help';

  let options: Record<string, unknown> = {};
  if (flags.config !== undefined) {
    let text: string;
    try {
      text = await readFile(flags.config, 'utf8');
    } catch (error) {
      throw new RegistryConfigError(
        'CC_E_REGISTRY_CONFIG_UNREADABLE',
        `cannot read the config file ${flags.config}: ${(error as Error).message}`,
        { cause: error },
      );
    }
    try {
      options = JSON.parse(text) as Record<string, unknown>;
    } catch (error) {
      throw new RegistryConfigError(
        'CC_E_REGISTRY_CONFIG_UNREADABLE',
        `the config file ${flags.config} is not JSON: ${(error as Error).message}`,
        { cause: error },
      );
    }
    if (typeof options !== 'object' || options === null || Array.isArray(options))
      invalid(`the config file ${flags.config} must hold a JSON object`);
  }
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
  if (flags.log) options.logger = true;
  if (options.root === undefined) invalid(`--root (or "root" in the config file) is required\n\n${USAGE}`);
  return options as unknown as RegistryMirrorOptions;
}
