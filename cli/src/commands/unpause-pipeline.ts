import { TargetCommand } from '../base-command.js';
import type { Pipeline } from '../client/index.js';
import { parsePipelineName, pipelineFlag, teamFlag } from '../refs/index.js';

export default class UnpausePipeline extends TargetCommand<typeof UnpausePipeline> {
  static override summary = 'Unpause a pipeline: its resources are checked and its jobs scheduled.';
  static override description = 'A pipeline starts paused when it is first set; this starts it.';
  static override examples = ['<%= config.bin %> <%= command.id %> -p app'];
  static override enableJsonFlag = true;
  static override flags = { pipeline: pipelineFlag, team: teamFlag };

  async run(): Promise<Pipeline> {
    const pipeline = parsePipelineName(this.flags.pipeline);
    const client = await this.client();
    const result = await client.unpausePipeline({ team: this.flags.team, pipeline });
    this.log(`unpaused '${pipeline}'`);
    return result;
  }
}
