import { TargetCommand } from '../base-command.js';
import type { Job } from '../client/index.js';
import { parseJobRef, requiredJobFlag, teamFlag } from '../refs/index.js';

export default class PauseJob extends TargetCommand<typeof PauseJob> {
  static override summary = 'Pause a job: the scheduler starts no new builds of it.';
  static override description =
    'Running builds go on; a build triggered by hand (`cc trigger-job`) waits until the job is unpaused. `cc unpause-job` resumes scheduling.';
  static override hiddenAliases = ['pj'];
  static override examples = ['<%= config.bin %> <%= command.id %> -j app/build'];
  static override enableJsonFlag = true;
  static override flags = { job: requiredJobFlag('The job to pause, as PIPELINE/JOB.'), team: teamFlag };

  async run(): Promise<Job> {
    const { pipeline, job } = parseJobRef(this.flags.job);
    const client = await this.client();
    const result = await client.pauseJob({ team: this.flags.team, pipeline, job });
    this.log(`paused '${pipeline}/${job}'`);
    return result;
  }
}
