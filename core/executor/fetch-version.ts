import type { IdMapping, resourceType, VolumeRef } from '@conveyor/plugin-api';
import type { PluginClient } from '../plugins/index.js';
import type { BuildContext } from './build-context.js';
import type { ResourceCacheSlot } from './types.js';

export interface FetchRequest {
  client: PluginClient<'resource-type'>;
  source: Record<string, unknown>;
  version: resourceType.GetRequest['version'];
  params?: Record<string, unknown> | undefined;
  /**
   * The user namespace the fetched files are for: what the resource type wrote as the host's
   * users is shifted into it, so an unprivileged container can use (and write) it. The shifted
   * copy is cached apart from an unshifted one.
   */
  idMapping?: IdMapping | undefined;
}

export interface Fetched {
  /** The step's own volume holding the version: a child of the cache, or a fresh volume. */
  volume: VolumeRef;
  response: resourceType.GetResponse;
  /** True when the version came from a resource cache without a fetch. */
  cached: boolean;
}

/**
 * Fetch one version of a resource for a step (a get, or a task's image_resource) through the
 * resource cache: a version already fetched on this worker is not fetched again, and the step
 * gets a copy-on-write child of the cache volume, so nothing it does can alter the cache. A
 * version not cached yet is fetched into a new cache volume first. `get` runs the plugin's get
 * into the volume it is given.
 */
export async function fetchVersion(
  build: BuildContext,
  stepId: string,
  role: string,
  request: FetchRequest,
  get: (directory: VolumeRef) => Promise<resourceType.GetResponse>,
): Promise<Fetched> {
  const slot: ResourceCacheSlot = build.deps.caches
    ? await build.deps.caches.resource({
        resourceType: request.client.id,
        source: request.source,
        version: request.version,
        params: request.params,
        idMapping: request.idMapping,
      })
    : { state: 'none' };

  const fetchInto = async (directory: VolumeRef) => {
    const response = await get(directory);
    if (request.idMapping) {
      await build.deps.volumes.call('shiftOwnership', {
        handle: directory.handle,
        idMapping: request.idMapping,
      });
    }
    return response;
  };
  if (slot.state === 'none') {
    const volume = await build.ledger.createVolume(stepId, role, { type: 'empty' });
    return { volume, response: await fetchInto(volume), cached: false };
  }
  let response: resourceType.GetResponse;
  let cached = false;
  if (slot.state === 'ready') {
    response = { version: slot.version, ...(slot.metadata ? { metadata: slot.metadata } : {}) };
    cached = true;
  } else {
    try {
      response = await fetchInto(slot.volume);
    } catch (error) {
      await slot.abandon().catch(() => undefined);
      throw error;
    }
    await slot.ready(response);
  }
  const volume = await build.ledger.createVolume(stepId, role, { type: 'child', parent: slot.volume.handle });
  return { volume, response, cached };
}
