import { TargetCommand } from '../base-command.js';
import type { Container } from '../client/index.js';
import { buildLabel, listingFlags, listingQuery, stepLabel } from '../containers/index.js';
import { formatDuration, renderTable } from '../output/index.js';

export default class Containers extends TargetCommand<typeof Containers> {
  static override summary = "List the containers of the team's builds.";
  static override description =
    'Like fly containers: one line per container, oldest first, with its handle, worker, runtime, state, the build (PIPELINE/JOB #NAME, or one-off #ID) and step it serves, the step type and its age. A step has a container while it runs; `cc intercept` runs a command in one.';
  static override hiddenAliases = ['cs'];
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> -j app/unit -b 3',
    '<%= config.bin %> <%= command.id %> -p app --json',
  ];
  static override enableJsonFlag = true;
  static override flags = listingFlags;

  async run(): Promise<Container[]> {
    const client = await this.client();
    const containers = await client.listContainers(this.flags.team, listingQuery(this.flags));
    const now = Date.now() / 1000;
    this.log(
      renderTable(containers, [
        { header: 'HANDLE', get: (c) => c.handle },
        { header: 'WORKER', get: (c) => c.worker_name },
        { header: 'RUNTIME', get: (c) => c.runtime },
        { header: 'STATE', get: (c) => c.state },
        { header: 'BUILD', get: buildLabel },
        { header: 'STEP', get: stepLabel },
        { header: 'TYPE', get: (c) => c.type ?? 'n/a' },
        { header: 'AGE', get: (c) => formatDuration(now - c.created_at) },
      ]),
    );
    return containers;
  }
}
