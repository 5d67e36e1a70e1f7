import { Flags } from '@oclif/core';
import { TargetCommand } from '../base-command.js';
import type { Build } from '../client/index.js';
import { CliError } from '../errors/index.js';
import { parseJobRef, requiredJobFlag, teamFlag } from '../refs/index.js';

export default class RerunBuild extends TargetCommand<typeof RerunBuild> {
  static override summary = 'Run a build of a job again, with the same input versions.';
  static override description =
    'The new build is named after the one it reruns (3.1 for the first rerun of 3). With --watch, streams its log and exits like `cc watch`.';
  static override examples = ['<%= config.bin %> <%= command.id %> -j app/unit -b 3 -w'];
  static override enableJsonFlag = true;
  static override flags = {
    job: requiredJobFlag('The job, as PIPELINE/JOB.'),
    build: Flags.string({
      char: 'b',
      summary: 'The name of the build to rerun.',
      required: true,
      helpValue: '<NAME>',
    }),
    watch: Flags.boolean({ char: 'w', summary: "Stream the new build's log until it finishes." }),
    team: teamFlag,
  };

  async run(): Promise<Build> {
    const { pipeline, job } = parseJobRef(this.flags.job);
    if (this.flags.watch && this.jsonEnabled()) {
      throw new CliError('CC_E_CLI_USAGE', '--watch prints a log, not JSON: give one of --watch and --json');
    }
    const client = await this.client();
    const build = await client.rerunJobBuild({ team: this.flags.team, pipeline, job }, this.flags.build);
    this.log(`started ${pipeline}/${job} #${build.name}`);
    if (this.flags.watch) {
      this.log('');
      await this.watchAndExit(client, build.id);
    }
    return build;
  }
}
