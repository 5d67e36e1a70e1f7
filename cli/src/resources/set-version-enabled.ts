import type { ApiClient, ResourceVersion } from '../client/index.js';
import { parseResourceRef, parseVersionPairs } from '../refs/index.js';
import { findVersion } from './find-version.js';

/**
 * `cc enable-resource-version` and `cc disable-resource-version`: the version the flags name
 * (found as pin-resource finds it), enabled or disabled, as the server answers it.
 */
export async function setVersionEnabled(
  client: ApiClient,
  flags: { resource: string; version: string[]; team: string },
  enabled: boolean,
): Promise<ResourceVersion> {
  const { pipeline, resource } = parseResourceRef(flags.resource);
  const path = { team: flags.team, pipeline, resource };
  const version = await findVersion(client, path, parseVersionPairs(flags.version, '--version'));
  return enabled
    ? client.enableResourceVersion(path, version.id)
    : client.disableResourceVersion(path, version.id);
}
