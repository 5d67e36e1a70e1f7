export { type DiscoveredPlugin, discoverPlugins, MANIFEST_FILE, type PluginSource } from './discovery.js';
export {
  type PluginClient,
  PluginHost,
  type PluginHostOptions,
  type PluginSummary,
  validateAgainst,
} from './plugin-host.js';
export type { CallInput, CallOptions, HostServiceHandlers } from './plugin-pool.js';
