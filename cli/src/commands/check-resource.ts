import { Flags } from '@oclif/core';
import { TargetCommand } from '../base-command.js';
import type { CheckResponse } from '../client/index.js';
import { presentVersion } from '../output/index.js';
import { parseResourceRef, parseVersionPairs, resourceFlag, teamFlag } from '../refs/index.js';

export default class CheckResource extends TargetCommand<typeof CheckResource> {
  static override summary = 'Check a resource for new versions now, and wait for the outcome.';
  static override description =
    'Runs a check from the latest known version (or from --from) and prints the versions it reported. A failed check exits 1 with the check’s own error.';
  static override hiddenAliases = ['cr'];
  static override examples = [
    '<%= config.bin %> <%= command.id %> -r app/repo',
    '<%= config.bin %> <%= command.id %> -r app/repo -f ref:abc123',
  ];
  static override enableJsonFlag = true;
  static override flags = {
    resource: resourceFlag,
    from: Flags.string({
      char: 'f',
      summary: 'Check from this version instead of the latest; one KEY:VALUE field per flag.',
      multiple: true,
      helpValue: '<KEY:VALUE>',
    }),
    team: teamFlag,
  };

  async run(): Promise<CheckResponse> {
    const { pipeline, resource } = parseResourceRef(this.flags.resource);
    const from = this.flags.from === undefined ? undefined : parseVersionPairs(this.flags.from, '--from');
    const client = await this.client();
    this.log(`checking ${pipeline}/${resource}`);
    const result = await client.checkResource({ team: this.flags.team, pipeline, resource }, from);
    const count = result.versions.length;
    this.log(`found ${count} version${count === 1 ? '' : 's'}${count === 0 ? '' : ':'}`);
    for (const version of result.versions) this.log(`  ${presentVersion(version.version)}`);
    this.log('succeeded');
    return result;
  }
}
