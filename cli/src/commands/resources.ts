import { TargetCommand } from '../base-command.js';
import type { Resource } from '../client/index.js';
import { presentVersion, renderTable } from '../output/index.js';
import { parsePipelineName, pipelineFlag, teamFlag } from '../refs/index.js';

export default class Resources extends TargetCommand<typeof Resources> {
  static override summary = 'List the resources of a pipeline.';
  static override description =
    'One line per resource, in the order of the config: its type, the version it is pinned to, and whether its last check failed (--json has the check error).';
  static override hiddenAliases = ['rs'];
  static override examples = ['<%= config.bin %> <%= command.id %> -p app'];
  static override enableJsonFlag = true;
  static override flags = { pipeline: pipelineFlag, team: teamFlag };

  async run(): Promise<Resource[]> {
    const pipeline = parsePipelineName(this.flags.pipeline);
    const client = await this.client();
    const resources = await client.listResources({ team: this.flags.team, pipeline });
    this.log(
      renderTable(resources, [
        { header: 'NAME', get: (r) => r.name },
        { header: 'TYPE', get: (r) => r.type },
        { header: 'PINNED', get: (r) => presentVersion(r.pinned_version) },
        {
          header: 'CHECK',
          get: (r) => (r.failing_to_check ? 'failing' : r.last_checked === undefined ? 'n/a' : 'ok'),
        },
      ]),
    );
    return resources;
  }
}
