import { TargetCommand } from '../base-command.js';
import type { Pipeline } from '../client/index.js';
import { parsePipelineName, pipelineFlag, teamFlag } from '../refs/index.js';

export default class PausePipeline extends TargetCommand<typeof PausePipeline> {
  static override summary = 'Pause a pipeline: no checks, no new builds.';
  static override description = 'Running builds go on; `cc unpause-pipeline` resumes checks and scheduling.';
  static override hiddenAliases = ['pp'];
  static override examples = ['<%= config.bin %> <%= command.id %> -p app'];
  static override enableJsonFlag = true;
  static override flags = { pipeline: pipelineFlag, team: teamFlag };

  async run(): Promise<Pipeline> {
    const pipeline = parsePipelineName(this.flags.pipeline);
    const client = await this.client();
    const result = await client.pausePipeline({ team: this.flags.team, pipeline });
    this.log(`paused '${pipeline}'`);
    return result;
  }
}
