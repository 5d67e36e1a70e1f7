import { Flags } from '@oclif/core';
import { TargetCommand } from '../base-command.js';
import type { ResourceVersion } from '../client/index.js';
import { presentVersion, renderTable } from '../output/index.js';
import { parseResourceRef, resourceFlag, teamFlag } from '../refs/index.js';

export default class ResourceVersions extends TargetCommand<typeof ResourceVersions> {
  static override summary = 'List the versions of a resource, newest first.';
  static override description =
    'The versions checks found, in the order they found them, with the id `cc pin-resource` and the API take, and whether each is enabled.';
  static override hiddenAliases = ['rvs'];
  static override examples = [
    '<%= config.bin %> <%= command.id %> -r app/repo',
    '<%= config.bin %> <%= command.id %> -r app/repo -c 5 --json',
  ];
  static override enableJsonFlag = true;
  static override flags = {
    resource: resourceFlag,
    count: Flags.integer({
      char: 'c',
      summary: 'How many versions to show.',
      default: 50,
      min: 1,
      max: 1000,
    }),
    team: teamFlag,
  };

  async run(): Promise<ResourceVersion[]> {
    const { pipeline, resource } = parseResourceRef(this.flags.resource);
    const client = await this.client();
    const { items } = await client.listResourceVersions(
      { team: this.flags.team, pipeline, resource },
      { limit: this.flags.count },
    );
    this.log(
      renderTable(items, [
        { header: 'ID', get: (v) => String(v.id) },
        { header: 'VERSION', get: (v) => presentVersion(v.version) },
        { header: 'ENABLED', get: (v) => (v.enabled ? 'yes' : 'no') },
      ]),
    );
    return items;
  }
}
