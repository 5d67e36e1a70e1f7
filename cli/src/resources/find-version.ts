import type { ApiClient, ResourcePath, ResourceVersion } from '../client/index.js';
import { CliError } from '../errors/index.js';

/**
 * The version a command names with `-v KEY:VALUE...`, as fly finds it for pin-resource and
 * enable/disable-resource-version: the newest version whose fields include all of `wanted`
 * (exactly equal; fields left out match anything), a page at a time.
 */
export async function findVersion(
  client: ApiClient,
  path: ResourcePath,
  wanted: Record<string, string>,
): Promise<ResourceVersion> {
  const matches = (version: ResourceVersion) =>
    Object.entries(wanted).every(([key, value]) => version.version[key] === value);
  let before: number | undefined;
  for (;;) {
    const page = await client.listResourceVersions(
      path,
      before === undefined ? { limit: 100 } : { limit: 100, before },
    );
    const found = page.items.find(matches);
    if (found !== undefined) return found;
    if (page.before === undefined) break;
    before = page.before;
  }
  const ref = `${path.pipeline}/${path.resource}`;
  throw new CliError('CC_E_CLI_NOT_FOUND', `no version of ${ref} matches ${JSON.stringify(wanted)}`, {
    hint: `\`cc resource-versions -r ${ref}\` lists its versions`,
    details: { version: wanted },
  });
}
