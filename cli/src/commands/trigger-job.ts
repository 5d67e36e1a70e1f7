import { Flags } from '@oclif/core';
import { TargetCommand } from '../base-command.js';
import type { Build } from '../client/index.js';
import { CliError } from '../errors/index.js';
import { parseJobRef, requiredJobFlag, teamFlag } from '../refs/index.js';

export default class TriggerJob extends TargetCommand<typeof TriggerJob> {
  static override summary = 'Start a new build of a job.';
  static override description =
    'The build runs with the latest versions of its inputs. With --watch, streams its log until it finishes and exits like `cc watch` (0 succeeded, 1 failed, 2 errored, 3 aborted).';
  static override hiddenAliases = ['tj'];
  static override examples = [
    '<%= config.bin %> <%= command.id %> -j app/unit',
    '<%= config.bin %> <%= command.id %> -j app/unit -w',
  ];
  static override enableJsonFlag = true;
  static override flags = {
    job: requiredJobFlag('The job to trigger, as PIPELINE/JOB.'),
    watch: Flags.boolean({ char: 'w', summary: "Stream the build's log until it finishes." }),
    team: teamFlag,
  };

  async run(): Promise<Build> {
    const { pipeline, job } = parseJobRef(this.flags.job);
    if (this.flags.watch && this.jsonEnabled()) {
      throw new CliError('CC_E_CLI_USAGE', '--watch prints a log, not JSON: give one of --watch and --json');
    }
    const client = await this.client();
    const build = await client.triggerJob({ team: this.flags.team, pipeline, job });
    this.log(`started ${pipeline}/${job} #${build.name}`);
    if (this.flags.watch) {
      this.log('');
      await this.watchAndExit(client, build.id);
    }
    return build;
  }
}
