import { TargetCommand } from '../base-command.js';
import { isServerError } from '../client/index.js';
import { confirm, requireInteractive } from '../interaction/index.js';
import { nonInteractiveFlag, parsePipelineName, pipelineFlag, teamFlag } from '../refs/index.js';

export interface DestroyResult {
  pipeline: string;
  destroyed: boolean;
}

export default class DestroyPipeline extends TargetCommand<typeof DestroyPipeline> {
  static override summary = 'Delete a pipeline with all its builds and resource versions.';
  static override description =
    'Asks "are you sure?" first, unless --non-interactive. A pipeline that does not exist is reported, not an error (like fly).';
  static override hiddenAliases = ['dp'];
  static override examples = [
    '<%= config.bin %> <%= command.id %> -p app',
    '<%= config.bin %> <%= command.id %> -p app --non-interactive',
  ];
  static override flags = { pipeline: pipelineFlag, team: teamFlag, 'non-interactive': nonInteractiveFlag };

  async run(): Promise<DestroyResult> {
    const pipeline = parsePipelineName(this.flags.pipeline);
    const nonInteractive = this.flags['non-interactive'];
    if (!nonInteractive) requireInteractive('are you sure?');
    const client = await this.client();
    this.log(`!!! this will remove all data for pipeline \`${pipeline}\``);
    this.log('');
    if (!nonInteractive && !(await confirm('are you sure?'))) {
      this.log('bailing out');
      return { pipeline, destroyed: false };
    }
    try {
      await client.deletePipeline({ team: this.flags.team, pipeline });
    } catch (error) {
      if (!isServerError(error, 'CC_E_API_PIPELINE_NOT_FOUND')) throw error;
      this.log(`\`${pipeline}\` does not exist`);
      return { pipeline, destroyed: false };
    }
    this.log(`\`${pipeline}\` deleted`);
    return { pipeline, destroyed: true };
  }
}
