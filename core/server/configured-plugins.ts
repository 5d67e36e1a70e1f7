import type { PipelineModel, ResolvedConfig, ResolvedPluginRef } from '../config/index.js';
import type { CredentialManager } from '../creds/index.js';
import { ConveyorError } from '../errors/index.js';
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
 * start with the field that names it rather than the first build.
 */
export function configuredPlugins(plugins: PluginHost, config: ResolvedConfig): ConfiguredPlugins {
  const runtime = client(plugins, 'runtime', config.runtime, 'runtime');
  const volumesRef =
    config.volumes.plugin === 'auto'
      ? { ...config.volumes, plugin: autoVolumeDriver(plugins) }
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

function autoVolumeDriver(plugins: PluginHost): string {
  const installed = new Set(
    plugins
      .list()
      .filter((p) => p.kind === 'volume')
      .map((p) => p.name),
  );
  return kAutoVolumeDrivers.find((name) => installed.has(name)) ?? 'naive';
}

/**
 * The credential managers a pipeline's `((vars))` resolve through: the configured ones, then one
 * per `var_sources` entry, named so `((source:var))` reaches it.
 */
export function pipelineCredentialManagers(
  plugins: PluginHost,
  configured: ConfiguredPlugins,
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
