import type { CheckResourceFn } from '../checker/index.js';
import { type PipelineModel, resourceTypePlugin } from '../config/index.js';
import { createInterpolator } from '../creds/index.js';
import { getPipelineById, type Pool } from '../db/index.js';
import { resourceImageHost, runtimeInfoOnce } from '../executor/index.js';
import { ownerLabels } from '../gc/index.js';
import type { PluginHost } from '../plugins/index.js';
import { checkContainers } from './check-containers.js';
import { concourseTypeImage } from './concourse-types.js';
import { type ConfiguredPlugins, pipelineCredentialManagers } from './configured-plugins.js';

export interface ResourceCheckOptions {
  /** This installation's id, labelled on the containers checks make. */
  installation?: string | undefined;
  /** The worker name container rows carry. */
  worker: string;
}

/** How long a check's process gets between SIGTERM and SIGKILL when the check is given up. */
const kKillGraceMs = 10_000;

/**
 * The checker's callback: resolves the resource's type (a plugin, or one of its pipeline's
 * resource_types, which names a plugin or is a Concourse resource-type image), resolves
 * `((vars))` in its source with the configured credential managers and the pipeline's var
 * sources, and calls the plugin's `check` — for an image type, the `concourse` plugin, which runs
 * the image's /opt/resource/check in a container of the runtime.
 */
export function checkResourceWithPlugins(
  pool: Pool,
  plugins: PluginHost,
  configured: ConfiguredPlugins,
  options: ResourceCheckOptions,
): CheckResourceFn {
  const runtimeInfo = runtimeInfoOnce(configured.runtime);
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
    const interpolate = (value: Record<string, unknown>) =>
      interpolator.interpolate(value) as Promise<Record<string, unknown>>;
    const source = await interpolate(resource.source);
    const client = plugins.client('resource-type', resourceTypePlugin(resource.type, pipelineType));
    const image = concourseTypeImage(pipelineType, interpolate);
    const host = image
      ? resourceImageHost({
          runtime: configured.runtime,
          volumes: configured.volumes,
          runtimeInfo,
          type: image,
          containers: checkContainers({
            pool,
            runtime: configured.runtime,
            runtimeName: configured.runtimeName,
            worker: options.worker,
            labels: ownerLabels(options.installation),
            lifetimeMs: 60 * 60_000,
          }),
          allowed: [],
          // A check has no build log: its stderr reaches the check's error through the plugin.
          onStderr: () => {},
          killGracePeriodMs: kKillGraceMs,
        })
      : undefined;
    const reply = await client.call(
      'check',
      { source, ...(lastVersion ? { version: lastVersion } : {}) },
      { signal, host },
    );
    return reply.versions;
  };
}
