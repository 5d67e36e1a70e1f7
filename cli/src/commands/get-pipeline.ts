import { parse } from 'yaml';
import { TargetCommand } from '../base-command.js';
import { CliError } from '../errors/index.js';
import { parsePipelineName, pipelineFlag, teamFlag } from '../refs/index.js';

export default class GetPipeline extends TargetCommand<typeof GetPipeline> {
  static override summary = "Print a pipeline's config as it was last set.";
  static override description =
    'The YAML text exactly as `cc set-pipeline` sent it, comments and layout included, so `cc get-pipeline -p app > pipeline.yml` gives a file that sets the same pipeline again. Static vars (-v, -y, -l) are not part of the text: its ((var)) references show as written. With --json, prints the config parsed, as JSON.';
  static override hiddenAliases = ['gp'];
  static override examples = [
    '<%= config.bin %> <%= command.id %> -p app > pipeline.yml',
    '<%= config.bin %> <%= command.id %> -p app --json',
  ];
  static override enableJsonFlag = true;
  static override flags = { pipeline: pipelineFlag, team: teamFlag };

  async run(): Promise<unknown> {
    const pipeline = parsePipelineName(this.flags.pipeline);
    const { team } = this.flags;
    const client = await this.client();
    const stored = await client.getPipelineConfig({ team, pipeline });
    if (stored === null) {
      throw new CliError('CC_E_CLI_NOT_FOUND', `pipeline ${pipeline} does not exist in team ${team}`, {
        hint: `\`cc pipelines${team === 'main' ? '' : ` --team ${team}`}\` lists them`,
        details: { team, pipeline },
      });
    }
    // Written as stored, without the newline `log` adds, so the output sets the same text again.
    if (!this.jsonEnabled()) this.write(stored.config);
    // An empty text (a pipeline the server holds no text for) parses to null: `{}` is its config.
    return parse(stored.config, { maxAliasCount: 1000 }) ?? {};
  }
}
