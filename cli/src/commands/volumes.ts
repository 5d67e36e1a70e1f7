import { TargetCommand } from '../base-command.js';
import type { Volume } from '../client/index.js';
import { buildLabel, listingFlags, listingQuery, stepLabel } from '../containers/index.js';
import { formatDuration, renderTable } from '../output/index.js';

export default class Volumes extends TargetCommand<typeof Volumes> {
  static override summary = "List the volumes of the team's builds.";
  static override description =
    'Like fly volumes: one line per volume, oldest first, with its handle, worker, volume driver, state, its role for the step (TYPE: input, output, cache), the build (PIPELINE/JOB #NAME, or one-off #ID) and step it serves, and its age. --json adds the artifact it holds and its parent volume.';
  static override hiddenAliases = ['vs'];
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> -j app/unit --type output',
  ];
  static override enableJsonFlag = true;
  static override flags = listingFlags;

  async run(): Promise<Volume[]> {
    const client = await this.client();
    const volumes = await client.listVolumes(this.flags.team, listingQuery(this.flags));
    const now = Date.now() / 1000;
    this.log(
      renderTable(volumes, [
        { header: 'HANDLE', get: (v) => v.handle },
        { header: 'WORKER', get: (v) => v.worker_name },
        { header: 'DRIVER', get: (v) => v.driver },
        { header: 'STATE', get: (v) => v.state },
        { header: 'TYPE', get: (v) => v.type ?? 'n/a' },
        { header: 'BUILD', get: buildLabel },
        { header: 'STEP', get: stepLabel },
        { header: 'AGE', get: (v) => formatDuration(now - v.created_at) },
      ]),
    );
    return volumes;
  }
}
