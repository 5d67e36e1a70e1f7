import { mkdir } from 'node:fs/promises';
import { PLUGIN_API_VERSION } from '@conveyor/plugin-api';
import { buildApi } from '../api/index.js';
import { startChecker } from '../checker/index.js';
import { deriveExternalUrl, loadConfig, type ResolvedConfig } from '../config/index.js';
import {
  createTokenVerifier,
  type Database,
  ensureAdminToken,
  installationId,
  openDatabase,
} from '../db/index.js';
import { closeBuildEventSubscriptions } from '../events/index.js';
import { startGc } from '../gc/index.js';
import { PluginHost } from '../plugins/index.js';
import { startScheduler } from '../scheduler/index.js';
import { startBuildRunner } from './build-runner.js';
import { configuredPlugins, pipelineCredentialManagers } from './configured-plugins.js';
import { leaseOwnerName, recoverBuildsOfDeadLocalOwners } from './lease-owner.js';
import { recordPlugins, watchPluginStore } from './plugin-store-watcher.js';
import { prettyLogStream } from './pretty-log.js';
import { checkResourceWithPlugins } from './resource-checks.js';
import { type ApiServices, createApiServices } from './services/index.js';
import { coreVersion } from './version.js';

/**
 * Time between checker and scheduler passes: short, so a new version starts a build within a
 * couple of seconds of its check; each pass is a few indexed queries.
 */
const kLoopIntervalMs = 2_000;

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
  /** Time between passes of the checker and scheduler loops. Default 2 s. */
  loopIntervalMs?: number | undefined;
  /** Environment to read CONVEYOR_* from; process.env unless told. */
  env?: Readonly<Record<string, string | undefined>> | undefined;
}

export interface RunningServer {
  url: string;
  /** The admin token in plain text: only on the first start of a data dir, never again. */
  adminToken: string | null;
  dataDir: string;
  /** The database's connection URL (it may carry a password: never log it). */
  databaseUrl: string;
  config: ResolvedConfig;
  plugins: PluginHost;
  close(): Promise<void>;
}

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
    const configured = await configuredPlugins(plugins, config, log);
    await recordPlugins(db.pool, plugins);

    // Plugins installed while the server runs (`cc plugin install`) are picked up without a restart.
    const storeWatcher = watchPluginStore({
      plugins,
      pool: db.pool,
      dir: config.plugins.dir,
      intervalMs: options.loopIntervalMs ?? kLoopIntervalMs,
      log,
      onError: (error) => log(`error: ${error.message}`),
    });
    cleanups.push(() => storeWatcher.stop());
    const adminToken = await ensureAdminToken(db.pool);
    const installation = await installationId(db.pool);
    const owner = leaseOwnerName();
    const onError = (error: Error) => log(`error: ${error.message}`);
    const recovered = await recoverBuildsOfDeadLocalOwners(db.pool);
    if (recovered > 0) log(`marked ${recovered} build(s) errored: the server running them had stopped`);
    // The URL is known once the API listens (port 0 picks one); services read it lazily.
    const external = { url: config.external_url ?? '' };

    const checker = startChecker({
      pool: db.pool,
      owner,
      checkResource: checkResourceWithPlugins(db.pool, plugins, configured, {
        installation,
        worker: 'local',
      }),
      intervalMs: options.loopIntervalMs ?? kLoopIntervalMs,
      onError,
    });
    cleanups.push(() => checker.stop());
    // The build runner polls; these wake it the moment a build is made, so a build starts at once.
    let wakeRunner = () => {};
    const scheduler = startScheduler({
      pool: db.pool,
      owner,
      onScheduled: (_jobId, result) => {
        if (result.outcome === 'created') wakeRunner();
      },
      intervalMs: options.loopIntervalMs ?? kLoopIntervalMs,
      onError,
    });
    cleanups.push(() => scheduler.stop());
    const gc = startGc({
      pool: db.pool,
      runtimes: new Map([[configured.runtimeName, configured.runtime]]),
      volumeDrivers: new Map([[configured.volumeDriverName, configured.volumes]]),
      installation,
      onError,
    });
    cleanups.push(() => gc.stop());
    cleanups.push(async () => closeBuildEventSubscriptions());

    const services = wakingOnNewBuilds(
      createApiServices({
        pool: db.pool,
        databaseUrl: db.url,
        plugins,
        checker,
        credentialManagers: (pipeline) => pipelineCredentialManagers(plugins, configured, pipeline),
        volumes: configured.volumes,
        runtime: configured.runtime,
        installation,
        get externalUrl() {
          return external.url;
        },
      }),
      () => wakeRunner(),
    );
    const api = await buildApi(
      {
        verifyToken: createTokenVerifier(db.pool),
        listPlugins: async () => plugins.list(),
        info: { version: coreVersion, pluginApiVersion: PLUGIN_API_VERSION },
        ...services,
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
    cleanups.push(() => closeApi(api));
    await api.listen({ host: config.api.host, port: config.api.port });
    const address = api.server.address();
    const port = typeof address === 'object' && address ? address.port : config.api.port;
    const url = config.external_url ?? deriveExternalUrl(config.api.host, port) ?? `http://127.0.0.1:${port}`;
    external.url = url;

    const runner = startBuildRunner({
      pool: db.pool,
      owner,
      installation,
      concurrency: config.builds.concurrency,
      plugins,
      configured,
      externalUrl: url,
      setPipeline: ({ name, team, configText, vars }) =>
        services.pipelines
          .setConfig({ team, pipeline: name }, { config: configText, vars, by: 'set_pipeline' })
          .then((result) => ({ changed: true, ...result })),
      onError,
    });
    // Stopped first (cleanups run in reverse): running builds end errored, none stays started.
    cleanups.push(() => runner.stop());
    wakeRunner = runner.wake;

    return {
      url,
      adminToken,
      dataDir: config.data_dir,
      databaseUrl: db.url,
      config,
      plugins,
      close: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** The API's services, with a wake-up for the build runner after each call that makes a build. */
function wakingOnNewBuilds(services: ApiServices, wake: () => void): ApiServices {
  const after =
    <A extends unknown[], R>(call: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      const result = await call(...args);
      wake();
      return result;
    };
  const { jobs, oneOffBuilds } = services;
  return {
    ...services,
    jobs: { ...jobs, trigger: after(jobs.trigger.bind(jobs)), rerun: after(jobs.rerun.bind(jobs)) },
    oneOffBuilds: { ...oneOffBuilds, start: after(oneOffBuilds.start.bind(oneOffBuilds)) },
  };
}

/** How long a closing server lets requests in flight finish before it cuts their connections. */
const kApiCloseGraceMs = 5_000;

/**
 * Close the API: stop accepting, let requests in flight finish, then cut what is left. Node closes
 * the keep-alive connections that are idle when close() is called; one whose response is still
 * being written then (an event stream ending, a download) goes idle just after and would hold
 * close() until its keep-alive timeout, so those are closed as they go idle. Whatever a client
 * still holds after the grace is cut: nothing it does may keep a server from stopping for long.
 */
async function closeApi(api: {
  close(): Promise<unknown>;
  server: { closeAllConnections(): void; closeIdleConnections(): void };
}) {
  const idle = setInterval(() => api.server.closeIdleConnections(), 50);
  const timer = setTimeout(() => api.server.closeAllConnections(), kApiCloseGraceMs);
  try {
    await api.close();
  } finally {
    clearInterval(idle);
    clearTimeout(timer);
  }
}
