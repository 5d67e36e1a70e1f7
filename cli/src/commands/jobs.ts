import { TargetCommand } from '../base-command.js';
import type { Job } from '../client/index.js';
import { renderTable } from '../output/index.js';
import { parsePipelineName, pipelineFlag, teamFlag } from '../refs/index.js';

export default class Jobs extends TargetCommand<typeof Jobs> {
  static override summary = 'List the jobs of a pipeline.';
  static override description =
    'One line per job, in the order of the config: whether it is paused, the status of its latest finished build and of its next (pending or running) one.';
  static override hiddenAliases = ['js'];
  static override examples = [
    '<%= config.bin %> <%= command.id %> -p app',
    '<%= config.bin %> <%= command.id %> -p app --json',
  ];
  static override enableJsonFlag = true;
  static override flags = { pipeline: pipelineFlag, team: teamFlag };

  async run(): Promise<Job[]> {
    const pipeline = parsePipelineName(this.flags.pipeline);
    const client = await this.client();
    const jobs = await client.listJobs({ team: this.flags.team, pipeline });
    this.log(
      renderTable(jobs, [
        { header: 'NAME', get: (j) => j.name },
        { header: 'PAUSED', get: (j) => (j.paused ? 'yes' : 'no') },
        { header: 'STATUS', get: (j) => j.finished_build?.status ?? 'n/a' },
        { header: 'NEXT', get: (j) => j.next_build?.status ?? 'n/a' },
      ]),
    );
    return jobs;
  }
}
