import { TargetCommand } from '../base-command.js';
import type { Resource } from '../client/index.js';
import { parseResourceRef, resourceFlag, teamFlag } from '../refs/index.js';

export default class UnpinResource extends TargetCommand<typeof UnpinResource> {
  static override summary = 'Unpin a resource pinned with `cc pin-resource`.';
  static override description =
    'Jobs go back to the latest versions. A pin set by `version:` in the pipeline config can only be removed there.';
  static override hiddenAliases = ['upr'];
  static override examples = ['<%= config.bin %> <%= command.id %> -r app/repo'];
  static override enableJsonFlag = true;
  static override flags = { resource: resourceFlag, team: teamFlag };

  async run(): Promise<Resource> {
    const { pipeline, resource } = parseResourceRef(this.flags.resource);
    const client = await this.client();
    const result = await client.unpinResource({ team: this.flags.team, pipeline, resource });
    this.log(`unpinned '${pipeline}/${resource}'`);
    return result;
  }
}
