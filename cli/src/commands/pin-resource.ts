import { TargetCommand } from '../base-command.js';
import type { Resource } from '../client/index.js';
import { parseResourceRef, parseVersionPairs, resourceFlag, teamFlag, versionFlag } from '../refs/index.js';
import { findVersion } from '../resources/index.js';

export default class PinResource extends TargetCommand<typeof PinResource> {
  static override summary = 'Pin a resource to one of its versions.';
  static override description =
    'Every job then uses that version. The given KEY:VALUE fields must match exactly, but not every field is needed; when several versions match, the newest is pinned (like fly).';
  static override hiddenAliases = ['pr'];
  static override examples = ['<%= config.bin %> <%= command.id %> -r app/repo -v ref:abc123'];
  static override enableJsonFlag = true;
  static override flags = {
    resource: resourceFlag,
    version: versionFlag('A field of the version to pin, as KEY:VALUE; repeatable.'),
    team: teamFlag,
  };

  async run(): Promise<Resource> {
    const { pipeline, resource } = parseResourceRef(this.flags.resource);
    const wanted = parseVersionPairs(this.flags.version, '--version');
    const client = await this.client();
    const path = { team: this.flags.team, pipeline, resource };
    const version = await findVersion(client, path, wanted);
    const pinned = await client.pinResourceVersion(path, version.id);
    this.log(`pinned '${pipeline}/${resource}' with version ${JSON.stringify(version.version)}`);
    return pinned;
  }
}
