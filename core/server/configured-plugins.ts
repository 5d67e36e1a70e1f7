import type { PipelineModel, ResolvedConfig, ResolvedPluginRef } from '../config/index.js';
import type { CredentialManager } from '../creds/index.js';
import { ConveyorError, toError } from '../errors/index.js';
import type { PluginClient, PluginHost } from '../plugins/index.js';

/** The order `volumes.driver: auto` tries drivers in, best first, as baggageclaim does. */
const kAutoVolumeDrivers = ['overlay', 'btrfs', 'naive'];

/** The runtime, volume driver and credential managers conveyor.yaml names, as plugin clients. */
export interface ConfiguredPlugins {
  runtime: PluginClient<'runtime'>;
  /** The runtime plugin's name, as rows of containers record it. */
  runtimeName: string;
  volumes: PluginClient<'volume'>;
  volumeDriverName: string;
  credentials: CredentialManager[];
}

/**
 * Resolve the configured plugins once, at start, so a missing or misconfigured one fails the
 * start with the field that names it rather than the first build. `volumes.driver: auto` asks
 * each installed driver in turn, best first, whether it works on this host.
 */
export async function configuredPlugins(
  plugins: PluginHost,
  config: ResolvedConfig,
  log: (line: string) => void = () => {},
): Promise<ConfiguredPlugins> {
  const runtime = client(plugins, 'runtime', config.runtime, 'runtime');
  const volumesRef =
    config.volumes.plugin === 'auto'
      ? { ...config.volumes, plugin: await autoVolumeDriver(plugins, config.volumes.config, log) }
      : config.volumes;
  const volumes = client(plugins, 'volume', volumesRef, 'volumes.driver');
  const credentials = config.credentials.map((ref, i) => ({
    client: client(plugins, 'credentials', ref, `credentials[${i}].manager`),
  }));
  return {
    runtime,
    runtimeName: runtime.manifest.name,
    volumes,
    volumeDriverName: volumes.manifest.name,
    credentials,
  };
}

function client<K extends 'runtime' | 'volume' | 'credentials'>(
  plugins: PluginHost,
  kind: K,
  ref: ResolvedPluginRef,
  field: string,
): PluginClient<K> {
  try {
    return plugins.client(kind, ref.range ? `${ref.plugin}@${ref.range}` : ref.plugin, ref.config);
  } catch (error) {
    if (error instanceof ConveyorError) {
      // Same code, the field named; the original adds nothing a reader needs, so no cause chain.
      throw new ConveyorError(error.code, `configuration \`${field}\`: ${error.message}`, {
        details: { ...error.details, field },
      });
    }
    throw error;
  }
}

/**
 * The first installed driver, in baggageclaim's order (overlay, btrfs, naive), whose `info`
 * answers: a driver that cannot work here (no overlayfs, not root, its root not on btrfs)
 * refuses there. naive works anywhere and is the last resort.
 */
async function autoVolumeDriver(
  plugins: PluginHost,
  driverConfig: Record<string, unknown> | undefined,
  log: (line: string) => void,
): Promise<string> {
  const installed = new Set(
    plugins
      .list()
      .filter((p) => p.kind === 'volume')
      .map((p) => p.name),
  );
  for (const name of kAutoVolumeDrivers.filter((n) => installed.has(n))) {
    if (name === 'naive') return name;
    try {
      await plugins.client('volume', name, driverConfig).call('info', {}, { timeoutMs: 30_000 });
      log(`volumes.driver auto: using ${name}`);
      return name;
    } catch (error) {
      log(`volumes.driver auto: ${name} does not work here (${toError(error).message}); trying the next`);
    }
  }
  return 'naive';
}

/**
 * The credential managers a pipeline's `((vars))` resolve through: the configured ones, then one
 * per `var_sources` entry, named so `((source:var))` reaches it.
 */
export function pipelineCredentialManagers(
  plugins: Pick<PluginHost, 'client'>,
  configured: Pick<ConfiguredPlugins, 'credentials'>,
  pipeline: PipelineModel | undefined,
): CredentialManager[] {
  return [
    ...configured.credentials,
    ...(pipeline?.varSources ?? []).map((source) => ({
      name: source.name,
      client: plugins.client('credentials', source.type, source.config),
    })),
  ];
}
