import type { runtime } from '@conveyor/plugin-api';
import type { PluginClient } from '../plugins/index.js';

/**
 * The runtime's `info`, asked once and then remembered; a failed answer is forgotten, so the next
 * caller asks again rather than inheriting a passing failure.
 */
export function runtimeInfoOnce(client: PluginClient<'runtime'>): () => Promise<runtime.InfoResponse> {
  let info: Promise<runtime.InfoResponse> | undefined;
  return () => {
    info ??= client.call('info', {}).catch((error: unknown) => {
      info = undefined;
      throw error;
    });
    return info;
  };
}
