import type { CheckResourceFn } from '../checker/index.js';
import type { PipelineModel } from '../config/index.js';
import { createInterpolator } from '../creds/index.js';
import { getPipelineById, type Pool } from '../db/index.js';
import type { PluginHost } from '../plugins/index.js';
import { type ConfiguredPlugins, pipelineCredentialManagers } from './configured-plugins.js';

/**
 * The checker's callback: resolves the resource's type (a plugin, or one of its pipeline's
 * resource_types, which names a plugin), resolves `((vars))` in its source with the configured
 * credential managers and the pipeline's var sources, and calls the plugin's `check`.
 */
export function checkResourceWithPlugins(
  pool: Pool,
  plugins: PluginHost,
  configured: ConfiguredPlugins,
): CheckResourceFn {
  return async (resource, lastVersion, { signal }) => {
    const pipelineRow = await getPipelineById(pool, resource.pipelineId);
    const pipeline = pipelineRow?.config as PipelineModel | undefined;
    const pipelineType = pipeline?.resourceTypes.find((t) => t.name === resource.type);
    const managers = pipelineCredentialManagers(plugins, configured, pipeline);
    const interpolator = createInterpolator({
      managers,
      team: resource.teamName,
      pipeline: resource.pipelineName,
    });
    const source = (await interpolator.interpolate(resource.source)) as Record<string, unknown>;
    const client = plugins.client('resource-type', pipelineType?.type ?? resource.type);
    const reply = await client.call(
      'check',
      { source, ...(lastVersion ? { version: lastVersion } : {}) },
      { signal },
    );
    return reply.versions;
  };
}
