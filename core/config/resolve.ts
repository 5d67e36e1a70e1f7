import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { ConveyorError } from '../errors/index.js';
import type {
  ApiConfig,
  BuildsConfig,
  ConveyorConfig,
  CredentialManagerConfig,
  DatabaseConfig,
  LogConfig,
  PluginConfig,
  PluginsConfig,
} from './conveyor-config.generated.js';
import { parseDuration } from './duration.js';
import { parsePluginRef } from './plugin-ref.js';

/** A plugin choice, normalised: `containerd@^1` and `{ plugin: containerd@^1 }` both become this. */
export interface ResolvedPluginRef {
  /** The plugin's name; for `volumes`, `auto` means the host picks the best driver it supports. */
  plugin: string;
  /** The semver range it must satisfy: from the reference, else from `plugins.pins`; absent = any. */
  range?: string;
  config: PluginConfig;
}

/**
 * The configuration with every default filled in and every value normalised: paths absolute,
 * durations in milliseconds, plugin references split. Field names are those of conveyor.yaml.
 */
export interface ResolvedConfig {
  data_dir: string;
  /** Undefined only when `api.port` is 0 and none was set: the server knows it once it listens. */
  external_url: string | undefined;
  api: Required<ApiConfig>;
  /** Without `url`, Conveyor runs an embedded Postgres in `<data_dir>/postgres`. */
  database: DatabaseConfig;
  runtime: ResolvedPluginRef;
  volumes: ResolvedPluginRef;
  credentials: ResolvedPluginRef[];
  plugins: Required<Omit<PluginsConfig, 'call_timeout'>> & { call_timeout_ms: number };
  builds: Required<BuildsConfig>;
  log: Required<LogConfig>;
}

/** The defaults the schema documents (a test keeps the two in step); data_dir and friends are computed. */
const kDefaults = {
  api: { host: '127.0.0.1', port: 8080 },
  runtime: 'local',
  volumes: { driver: 'naive' },
  credentials: [{ manager: 'env' }],
  plugins: { pins: {}, call_timeout: '5m', max_memory_mb: 512 },
  builds: { concurrency: 16 },
  log: { level: 'info', format: 'json' },
} satisfies ConveyorConfig;

/** What defaults depend on besides the configuration. */
export interface ResolveContext {
  env: Readonly<Record<string, string | undefined>>;
  isRoot: boolean;
}

/** Fill the merged layers' gaps with defaults and normalise; paths are already absolute here. */
export function resolveConfig(config: ConveyorConfig, context: ResolveContext): ResolvedConfig {
  const dataDir = config.data_dir ?? defaultDataDir(context);
  const api = { ...kDefaults.api, ...config.api };
  const plugins = { ...kDefaults.plugins, ...config.plugins };
  const pins = plugins.pins;
  const runtime = config.runtime ?? kDefaults.runtime;
  const volumes = { ...kDefaults.volumes, ...config.volumes };
  const credentials: CredentialManagerConfig[] = config.credentials ?? kDefaults.credentials;
  return {
    data_dir: dataDir,
    external_url: config.external_url?.replace(/\/+$/, '') ?? deriveExternalUrl(api.host, api.port),
    api,
    database: config.database?.url === undefined ? {} : { url: config.database.url },
    runtime:
      typeof runtime === 'string'
        ? pluginRef(runtime, undefined, pins)
        : pluginRef(runtime.plugin, runtime.config, pins),
    volumes: pluginRef(volumes.driver, volumes.config, pins),
    credentials: credentials.map((entry) => pluginRef(entry.manager, entry.config, pins)),
    plugins: {
      dir: plugins.dir ?? join(dataDir, 'plugins'),
      pins,
      call_timeout_ms: parseDuration(plugins.call_timeout),
      max_memory_mb: plugins.max_memory_mb,
    },
    builds: { ...kDefaults.builds, ...config.builds },
    log: { ...kDefaults.log, ...config.log },
  };
}

function pluginRef(
  ref: string,
  config: PluginConfig | undefined,
  pins: Record<string, string>,
): ResolvedPluginRef {
  const parts = parsePluginRef(ref);
  // The schema has checked every reference by now; failing here is a bug of ours.
  if (!parts)
    throw new ConveyorError(
      'CC_E_INTERNAL',
      `config: plugin reference ${JSON.stringify(ref)} passed validation`,
    );
  const range = parts.range ?? pins[parts.name];
  return { plugin: parts.name, ...(range === undefined ? {} : { range }), config: config ?? {} };
}

/**
 * As root: /var/lib/conveyor, like other system daemons. Otherwise the XDG data directory.
 * CONVEYOR_DATA_DIR arrives through the environment layer before this is asked.
 */
function defaultDataDir({ env, isRoot }: ResolveContext): string {
  if (isRoot) return '/var/lib/conveyor';
  const xdg = env.XDG_DATA_HOME;
  if (xdg && isAbsolute(xdg)) return join(xdg, 'conveyor');
  return join(homeDir(env), '.local', 'share', 'conveyor');
}

export function homeDir(env: Readonly<Record<string, string | undefined>>): string {
  return env.HOME || homedir();
}

/** A path from configuration made absolute: `~/x` from the home directory, `x` from `base`. */
export function absolutePath(path: string, base: string, home: string): string {
  if (path === '~') return home;
  if (path.startsWith('~/')) return join(home, path.slice(2));
  return resolve(base, path);
}

/**
 * The URL the API is reached at when listening on `host:port`. Listening on every interface says
 * nothing about which name others use, so loopback stands in; set `external_url` for anything else.
 * Undefined for port 0 until the server knows the port it was given.
 */
export function deriveExternalUrl(host: string, port: number): string | undefined {
  if (port === 0) return undefined;
  const reachable = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}`;
}
