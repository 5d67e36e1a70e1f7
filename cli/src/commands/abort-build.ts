import { Flags } from '@oclif/core';
import { TargetCommand } from '../base-command.js';
import { findBuild } from '../builds/index.js';
import type { Build } from '../client/index.js';
import { jobFlag, parseJobRef, teamFlag } from '../refs/index.js';

export default class AbortBuild extends TargetCommand<typeof AbortBuild> {
  static override summary = 'Abort a pending or running build.';
  static override description =
    'With --job, --build is the build name within the job; without it, the global build id. A build that already finished is left as it is.';
  static override hiddenAliases = ['ab'];
  static override examples = [
    '<%= config.bin %> <%= command.id %> -j app/unit -b 3',
    '<%= config.bin %> <%= command.id %> -b 42',
  ];
  static override enableJsonFlag = true;
  static override flags = {
    job: jobFlag('The job of the build, as PIPELINE/JOB.'),
    build: Flags.string({
      char: 'b',
      summary: 'The build: its name with --job, else its global id.',
      required: true,
      helpValue: '<BUILD>',
    }),
    team: teamFlag,
  };

  async run(): Promise<Build> {
    const job = this.flags.job === undefined ? undefined : parseJobRef(this.flags.job);
    const client = await this.client();
    const build = await findBuild(client, this.flags.team, job, this.flags.build);
    const aborted = await client.abortBuild(build.id);
    this.log('build successfully aborted');
    return aborted;
  }
}
