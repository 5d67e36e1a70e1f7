import type { PluginSummary } from '@conveyor/core/api';

/** Plugins as the API lists them, for suites that serve the API with simple deps. */
export const samplePluginSummaries: PluginSummary[] = [
  {
    name: 'local',
    version: '1.0.0',
    kind: 'runtime',
    apiVersion: '^1.0',
    description: 'processes on the host',
    source: 'builtin',
    path: '/opt/conveyor/plugins/runtime-local',
  },
  {
    name: 'mock',
    version: '1.2.0',
    kind: 'resource-type',
    apiVersion: '^1.0',
    source: 'linked',
    path: '/home/dev/mock',
  },
];
