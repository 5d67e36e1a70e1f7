import { mkdir } from 'node:fs/promises';
import { PLUGIN_API_VERSION, type PluginKind } from '@conveyor/plugin-api';
import { buildApi } from '../api/index.js';
import {
  deriveExternalUrl,
  loadConfig,
  type ResolvedConfig,
  type ResolvedPluginRef,
} from '../config/index.js';
import {
  type Database,
  ensureAdminToken,
  openDatabase,
  syncInstalledPlugins,
  verifyToken,
} from '../db/index.js';
import { ConveyorError } from '../errors/index.js';
import { PluginHost } from '../plugins/index.js';
import { prettyLogStream } from './pretty-log.js';
import { coreVersion } from './version.js';

export interface StartServerOptions {
  /** conveyor.yaml; else CONVEYOR_CONFIG; else defaults only. */
  configFile?: string | undefined;
  /** Flags beat the file and the environment. */
  dataDir?: string | undefined;
  port?: number | undefined;
  host?: string | undefined;
  /** Package directories of the built-in plugins; the CLI resolves them from its dependencies. */
  builtinPluginDirs: readonly string[];
  /** Where human-facing start-up notes go (the API's own structured log goes to stdout). */
  log?: ((line: string) => void) | undefined;
  /** Where the API's structured (JSON) log goes; stderr unless told, so stdout stays for people. */
  logStream?: { write(line: string): void } | undefined;
  /** Environment to read CONVEYOR_* from; process.env unless told. */
  env?: Readonly<Record<string, string | undefined>> | undefined;
}

export interface RunningServer {
  url: string;
  /** The admin token in plain text: only on the first start of a data dir, never again. */
  adminToken: string | null;
  dataDir: string;
  config: ResolvedConfig;
  plugins: PluginHost;
  close(): Promise<void>;
}

/** The order `volumes.driver: auto` tries drivers in, best first, as baggageclaim does. */
const kAutoVolumeDrivers = ['overlay', 'btrfs', 'naive'];

/**
 * The composition root: configuration → data dir → Postgres (embedded or external) → plugin host
 * → API. Whatever was started is stopped again if a later step fails, so a failed start leaves
 * no Postgres or worker threads behind.
 */
export async function startServer(options: StartServerOptions): Promise<RunningServer> {
  const log = options.log ?? (() => {});
  const config = await loadConfig({
    file: options.configFile,
    env: options.env ?? process.env,
    overrides: { data_dir: options.dataDir, api: { port: options.port, host: options.host } },
  });
  const cleanups: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
    cleanups.length = 0;
  };
  try {
    // The embedded Postgres runs as an unprivileged user that must be able to enter this directory.
    await mkdir(config.data_dir, { recursive: true, mode: 0o755 });

    const db: Database = await openDatabase({
      url: config.database.url,
      dataDir: config.data_dir,
    });
    cleanups.push(() => db.close());
    log(
      db.embedded
        ? `database: embedded Postgres in ${config.data_dir}/postgres`
        : 'database: external Postgres',
    );

    const plugins = await PluginHost.create({
      builtinDirs: options.builtinPluginDirs,
      installedDir: config.plugins.dir,
      pins: config.plugins.pins,
      callTimeoutMs: config.plugins.call_timeout_ms,
      maxMemoryMb: config.plugins.max_memory_mb,
    });
    cleanups.push(() => plugins.close());
    for (const refused of plugins.refused()) log(`plugin refused [${refused.code}]: ${refused.message}`);
    checkConfiguredPlugins(plugins, config);
    await syncInstalledPlugins(
      db.pool,
      plugins.list().map((p) => ({
        name: p.name,
        version: p.version,
        kind: p.kind,
        apiVersion: p.apiVersion,
        source: p.source,
        path: p.path,
      })),
    );

    const adminToken = await ensureAdminToken(db.pool);
    const api = await buildApi(
      {
        verifyToken: (token) => verifyToken(db.pool, token),
        listPlugins: async () => plugins.list(),
        info: { version: coreVersion, pluginApiVersion: PLUGIN_API_VERSION },
      },
      {
        logger: {
          level: config.log.level,
          stream:
            config.log.format === 'pretty'
              ? prettyLogStream(options.logStream ?? process.stderr)
              : (options.logStream ?? process.stderr),
        },
      },
    );
    cleanups.push(() => api.close());
    await api.listen({ host: config.api.host, port: config.api.port });
    const address = api.server.address();
    const port = typeof address === 'object' && address ? address.port : config.api.port;
    const url = config.external_url ?? deriveExternalUrl(config.api.host, port) ?? `http://127.0.0.1:${port}`;

    return {
      url,
      adminToken,
      dataDir: config.data_dir,
      config,
      plugins,
      close: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** Fail at start, not at the first build, when the configured runtime, volume driver or credential manager is missing. */
function checkConfiguredPlugins(plugins: PluginHost, config: ResolvedConfig): void {
  const check = (kind: PluginKind, ref: ResolvedPluginRef, field: string) => {
    try {
      plugins.client(kind, ref.range ? `${ref.plugin}@${ref.range}` : ref.plugin, ref.config);
    } catch (error) {
      if (error instanceof ConveyorError) {
        // Same code, the field named; the original adds nothing a reader needs, so no cause chain.
        throw new ConveyorError(error.code, `configuration \`${field}\`: ${error.message}`, {
          details: { ...error.details, field },
        });
      }
      throw error;
    }
  };
  check('runtime', config.runtime, 'runtime');
  const volumes =
    config.volumes.plugin === 'auto'
      ? { ...config.volumes, plugin: autoVolumeDriver(plugins) }
      : config.volumes;
  check('volume', volumes, 'volumes.driver');
  for (const [i, ref] of config.credentials.entries()) check('credentials', ref, `credentials[${i}].manager`);
}

function autoVolumeDriver(plugins: PluginHost): string {
  const installed = new Set(
    plugins
      .list()
      .filter((p) => p.kind === 'volume')
      .map((p) => p.name),
  );
  return kAutoVolumeDrivers.find((name) => installed.has(name)) ?? 'naive';
}
