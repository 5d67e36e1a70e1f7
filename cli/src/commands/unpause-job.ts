import { TargetCommand } from '../base-command.js';
import type { Job } from '../client/index.js';
import { parseJobRef, requiredJobFlag, teamFlag } from '../refs/index.js';

export default class UnpauseJob extends TargetCommand<typeof UnpauseJob> {
  static override summary = 'Unpause a job: the scheduler starts its builds again.';
  static override hiddenAliases = ['uj'];
  static override examples = ['<%= config.bin %> <%= command.id %> -j app/build'];
  static override enableJsonFlag = true;
  static override flags = { job: requiredJobFlag('The job to unpause, as PIPELINE/JOB.'), team: teamFlag };

  async run(): Promise<Job> {
    const { pipeline, job } = parseJobRef(this.flags.job);
    const client = await this.client();
    const result = await client.unpauseJob({ team: this.flags.team, pipeline, job });
    this.log(`unpaused '${pipeline}/${job}'`);
    return result;
  }
}
