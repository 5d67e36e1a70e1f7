import { Flags } from '@oclif/core';
import { TargetCommand } from '../base-command.js';
import type { ApiClient, Resource, ResourcePath, ResourceVersion } from '../client/index.js';
import { CliError } from '../errors/index.js';
import { parseResourceRef, parseVersionPairs, resourceFlag, teamFlag } from '../refs/index.js';

export default class PinResource extends TargetCommand<typeof PinResource> {
  static override summary = 'Pin a resource to one of its versions.';
  static override description =
    'Every job then uses that version. The given KEY:VALUE fields must match exactly, but not every field is needed; when several versions match, the newest is pinned (like fly).';
  static override hiddenAliases = ['pr'];
  static override examples = ['<%= config.bin %> <%= command.id %> -r app/repo -v ref:abc123'];
  static override enableJsonFlag = true;
  static override flags = {
    resource: resourceFlag,
    version: Flags.string({
      char: 'v',
      summary: 'A field of the version to pin, as KEY:VALUE; repeatable.',
      multiple: true,
      required: true,
      helpValue: '<KEY:VALUE>',
    }),
    team: teamFlag,
  };

  async run(): Promise<Resource> {
    const { pipeline, resource } = parseResourceRef(this.flags.resource);
    const wanted = parseVersionPairs(this.flags.version, '--version');
    const client = await this.client();
    const path = { team: this.flags.team, pipeline, resource };
    const version = await newestMatching(client, path, wanted);
    const pinned = await client.pinResourceVersion(path, version.id);
    this.log(`pinned '${pipeline}/${resource}' with version ${JSON.stringify(version.version)}`);
    return pinned;
  }
}

/** The newest version whose fields include all of `wanted`, a page at a time. */
async function newestMatching(
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
